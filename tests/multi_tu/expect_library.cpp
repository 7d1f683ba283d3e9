// Compiled into each of the three multi_tu programs (the test itself is
// compiled once for all of them): whether this program's link keeps the
// static or shared library's registrations. MULTI_TU_EXPECT_LIBRARY comes
// from CMakeLists.txt.
extern const bool multi_tu_expect_library;
const bool multi_tu_expect_library = MULTI_TU_EXPECT_LIBRARY;
