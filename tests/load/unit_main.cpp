// doctest main() for portpool-load's unit tests (no sockets, no namespace).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
