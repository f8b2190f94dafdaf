// Package testreport models one run of the in-guest tests (a Suite of
// Tests, nested by the "/" in their names, each pass, fail or skip with its
// output and any kernel crash attributed to it) and writes it as KTAP (the
// kernel's format, Documentation/dev-tools/ktap.rst), TAP version 13 and
// JUnit XML. ParseTest2JSON builds a Suite from the event stream of
// cmd/test2json (go test -json), and ExitCode is the verdict a CI system
// sees: 0 only if every test passed.
package testreport
