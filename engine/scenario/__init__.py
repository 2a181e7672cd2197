"""The scenario: every setting that changes a result, as one validated value (internal).

`settings` is the value itself (`Scenario`, its limits); `parse` turns typed text into
its fields and `clamp` brings outside values (links, files, stored settings) within
its limits, with a notice each; `codec` reads and writes it as URL parameters and JSON;
`workload` estimates what a scenario costs before it runs, so nothing starts that the
server cannot finish.

Internal: the public API is `engine.__all__`; names here may change between versions.
"""
