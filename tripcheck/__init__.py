"""The shell: the command line, composition of the parts, and the process lifecycle."""
