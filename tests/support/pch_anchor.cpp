// The translation unit that builds the tests' shared precompiled header
// (taskexec_test_pch in tests/CMakeLists.txt); it defines nothing.
