// Compiled only so that CMake builds the test programs' shared precompiled
// header (target taskexec_test_pch, tests/CMakeLists.txt); holds nothing.
