"""The command line (`gradscope`, or `python -m engine`): its interface is the commands.

Internal: nothing outside the package imports these modules, except the two entry
points (`engine.__main__` and the `gradscope` script) calling `cli.main.main`.
"""
