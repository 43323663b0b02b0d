"""flaskgen test suite."""
