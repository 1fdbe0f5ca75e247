"""The disk edge: sole owner of every file name and shape."""
