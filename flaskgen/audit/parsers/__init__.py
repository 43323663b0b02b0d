"""Parsers of deployment files, with no rules in them: Gunicorn settings, Nginx configs, command
files (Dockerfile, compose, Procfile, systemd, scripts), compose services, Kubernetes manifests."""
