# nbgrader looks for this file in the current directory; the real config lives in autograde/.
c = get_config()  # noqa: F821
load_subconfig("autograde/nbgrader_config.py")  # noqa: F821
