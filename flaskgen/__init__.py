"""flaskgen: generate production-ready, application-factory Flask services.

The public API is small and keyword-only; the CLI (`flaskgen.cli`) is a thin layer over it:

    from flaskgen import generate_project
    generate_project(template=None, name="Orders API", no_input=True, overrides={"database": "postgresql"})
"""

__version__ = "0.1.0"

__all__ = ["__version__", "generate_project", "load_template_options"]

from flaskgen.generate import generate_project
from flaskgen.template import load_template_options
