# Read by `flask` when python-dotenv is installed (it is in the dev extra).
# The `flask` command's entry point: configures logging, then makes the app.
FLASK_APP={{ cookiecutter.package_name }}.cli
APP_ENV=development
