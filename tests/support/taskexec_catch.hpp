// One include for Catch2 v2 (Debian 12's single header) and v3.
#pragma once
#if defined(TASKEXEC_TEST_CATCH2_V3)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
