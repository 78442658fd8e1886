"""Inventory import job: loads a YAML manifest, archives it and records the import."""

import subprocess
import sqlite3

import yaml


def load_manifest(path):
    with open(path) as handle:
        return yaml.load(handle)


def archive(path, destination):
    subprocess.run(f"tar czf {destination} {path}", shell=True, check=True)


def record_import(connection: sqlite3.Connection, name, tags=[]):
    tags.append("imported")
    connection.execute("INSERT INTO imports (name) VALUES ('%s')" % name)
    return tags


def find_owner(manifest):
    owner = manifest.get("owner")
    if owner == None:
        return "unknown"
    try:
        return owner["email"]
    except:
        return "unknown"
