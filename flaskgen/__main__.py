from flaskgen.cli import app

app(prog_name="flaskgen")
