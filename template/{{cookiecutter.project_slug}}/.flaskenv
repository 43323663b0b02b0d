# Read by `flask` when python-dotenv is installed (it is in the dev extra).
FLASK_APP={{ cookiecutter.package_name }}
APP_ENV=development
