#!/usr/bin/env bash
# Fetches the web-application corpus for the data-flow (taint) rules: a pinned set of real web applications, each
# in a version with publicly known injection, traversal, SSRF, redirect or deserialization advisories, taken from
# the package registries only (PyPI wheels and sdists, npm tarballs). The mature libraries of
# scripts/precision-corpus.sh have no web handlers, so the taint rules never fire there; these apps do have them.
# `scripts/precision.py --webapps` reviews them with the data-flow rules only and writes the page's section.
#
#   scripts/precision-webapps.sh                 # fetch all that is missing, then print the table
#   scripts/precision-webapps.sh python gradio   # only these languages / app names
#
# Layout: ${CODEINSIGHT_CORPUS_DIR:-$HOME/.cache/codeinsight-corpus}-webapps/<language>/<name>-<version>/ holds the
# tree as published: a wheel's content (the installed package, unzipped), an sdist or an npm tarball without its
# top-level folder. As in precision-corpus.sh, a tree is staged in a temp dir beside it, marked with `.complete`
# (written last) and renamed into place, so a tree that exists is whole; trees already there are skipped, and the
# archives are deleted once unpacked. Needs python3 -m pip, npm, tar and unzip. An app that fails is named and the
# others still go on; exit status 1. About 400 MB downloaded, 1.3 GB unpacked, a few minutes.
set -euo pipefail

dest=${CODEINSIGHT_CORPUS_DIR:-$HOME/.cache/codeinsight-corpus}-webapps

# The apps are chosen for their web handlers and advisories, before any review of them: none is left out for what
# the rules report. The first fifteen were measured by hand before this script existed, and the next eight were added
# later, six after them, eight (Python) after those and the last eight (JavaScript) after these, chosen the same way;
# the indented line under an app names advisories of that version where they are public (CVE, fixed-in version),
# else why it is here.
# language    name                version          registry  spec (PyPI project name; npm: -, or the scoped package)
APPS='
python      pgadmin4            7.6              wheel     pgadmin4
  CVE-2023-5002 command injection through the binary path validation (fixed in 7.7)
python      calibreweb          0.6.17           wheel     calibreweb
  CVE-2022-0939 SSRF through the cover URL (fixed in 0.6.18)
python      pyload-ng           0.5.0b3.dev30    wheel     pyload-ng
  CVE-2023-0297 code injection through js2py in /flash/addcrypted2 (fixed in 0.5.0b3.dev31)
python      changedetection.io  0.45.1           wheel     changedetection.io
  CVE-2024-32651 server-side template injection in notifications (fixed in 0.45.21)
python      sickchill           2023.6.27        wheel     sickchill
  a large Tornado web UI
python      flask-appbuilder    3.3.0            wheel     Flask-AppBuilder
  CVE-2021-32805 open redirect after login (fixed in 3.3.2)
python      flask-appbuilder    4.5.0            sdist     Flask-AppBuilder
  the same framework years later
python      flask-admin         1.5.8            sdist     Flask-Admin
  admin views over user-supplied filters, URLs and file paths (fileadmin)
python      octoprint           1.9.3            wheel     OctoPrint
  a Flask and Tornado web UI with file management
python      pyspider            0.3.10           sdist     pyspider
  a web UI that runs user scripts
python      mlflow              2.9.2            wheel     mlflow
  path traversal advisories in the tracking server fixed in later 2.x releases
python      django-allauth      65.3.0           sdist     django-allauth
  a mature Django app (few true findings expected)
python      wagtail             6.3.1            sdist     wagtail
  a mature Django CMS (few true findings expected)
python      gradio              3.33.1           wheel     gradio
  CVE-2023-34239 arbitrary file read and SSRF through /file= and /proxy= (fixed in 3.34.0)
python      lektor              3.3.10           wheel     Lektor
  CVE-2024-28335 path traversal in the admin API (fixed in 3.3.11)
python      jupyter-server      2.7.1            wheel     jupyter-server
  CVE-2023-39968 open redirect, CVE-2023-40170 XSS (fixed in 2.7.2)
python      notebook            6.1.4            wheel     notebook
  CVE-2020-26215 open redirect (fixed in 6.1.5)
python      streamlit           1.11.0           wheel     streamlit
  CVE-2022-35918 path traversal in custom components (fixed in 1.11.1)
python      graphite-web        1.1.5            sdist     graphite-web
  CVE-2017-18638 SSRF in composer send_email (fixed in 1.1.6)
python      label-studio        1.9.1            wheel     label-studio
  CVE-2023-47116 SSRF, CVE-2023-47115 XSS (fixed in 1.9.2)
python      apache-superset     2.1.0            sdist     apache-superset
  CVE-2023-37941 unsafe deserialization, CVE-2023-39265 SQLite URIs (fixed in 2.1.1)
python      bentoml             1.2.4            wheel     bentoml
  CVE-2024-2912 unsafe deserialization of request bodies (fixed in 1.2.5)
python      archivy             1.6.2            wheel     archivy
  CVE-2022-0697 open redirect (fixed in 1.7.0)
python      mkdocs              1.2.2            wheel     mkdocs
  CVE-2021-40978 path traversal in the development server (fixed in 1.2.3)
python      flask-security-too  4.0.0            wheel     Flask-Security-Too
  CVE-2021-32618 open redirect through the next parameter (fixed in 4.1.0)
python      jupyterhub          1.4.0            wheel     jupyterhub
  a Tornado web application with a REST API
python      rdiffweb            2.4.0            wheel     rdiffweb
  a CherryPy web UI over backup repositories on disk
python      sqlite-web          0.4.1            sdist     sqlite-web
  a Flask web UI that runs the SQL its user types
python      open-webui          0.3.8            wheel     open-webui
  a FastAPI web UI with file uploads and URL fetching
python      gerapy              0.9.7            wheel     gerapy
  CVE-2021-43857 command injection in project_configure (fixed in 0.9.8), CVE-2021-32849 through the address of project clone (fixed in 0.9.9)
python      ray                 2.8.0            wheel     ray
  CVE-2023-6020 and CVE-2023-6021 file reads through /static/ and the log API, CVE-2023-6019 command injection through cpu_profile (all fixed in 2.8.1, though this wheel already has the format allow-list of ray PR 39019)
python      langflow-base       0.2.0            wheel     langflow-base
  the server of langflow 1.2.0 (whose own wheel is a stub): CVE-2025-3248 code injection through /api/v1/validate/code (fixed in langflow 1.3.0)
python      datasette           0.56             wheel     datasette
  CVE-2021-32670 reflected XSS through the ?_trace=1 debug output (fixed in 0.56.1)
python      voila               0.5.5            wheel     voila
  CVE-2024-30265 local file inclusion through /static/ (fixed in 0.5.6)
python      jupyter-server-proxy 3.2.0           wheel     jupyter-server-proxy
  CVE-2022-21697 SSRF past the allowed_hosts check of /proxy/HOST:PORT/PATH (fixed in 3.2.1)
python      pretalx             2.3.1            wheel     pretalx
  CVE-2023-28459 file read and CVE-2023-28458 file write through path traversal in the HTML export (fixed in 2.3.2)
python      weblate             4.11             wheel     Weblate
  CVE-2022-23915 argument injection into Git and Mercurial (fixed in 4.11.1)
javascript  json-server         0.17.4           npm       -
  a small Express server (few true findings expected)
javascript  verdaccio           5.31.1           npm       -
  an Express registry server (compiled build/ as published)
javascript  mongo-express       0.53.0           npm       -
  CVE-2019-10758 code injection through /checkValid (fixed in 0.54.0)
javascript  ungit               1.5.18           npm       -
  CVE-2022-25766 argument injection into git in /api/fetch (fixed in 1.5.20)
javascript  parse-server        6.4.0            npm       -
  CVE-2024-27298 SQL injection in the Postgres adapter (fixed in 6.5.0)
javascript  node-red-dashboard  2.26.0           npm       -
  CVE-2021-3223 path traversal in ui_base (fixed in 2.26.2)
javascript  node-static         0.7.11           npm       -
  CVE-2023-26111 path traversal (no fixed version)
javascript  st                  0.2.4            npm       -
  CVE-2014-3744 directory traversal (fixed in 0.2.5)
javascript  serve               6.4.8            npm       -
  CVE-2018-3712 directory traversal through %2e%2e in the path, listing any directory (fixed in 6.4.9)
javascript  ecstatic            3.3.1            npm       -
  npm advisory 830, open redirect in the trailing-slash redirect of a directory (fixed in 3.3.2)
javascript  strapi-admin        3.0.0-beta.17.7  npm       -
  CVE-2019-19609 command injection through the plugin name of plugin install and uninstall (fixed in 3.0.0-beta.17.8)
javascript  uppy-companion      3.1.0            npm       @uppy/companion
  CVE-2022-0528 SSRF past the private-IP check of URL imports (fixed in 3.3.1; compiled lib/ as published)
javascript  node-red-runtime    1.2.7            npm       @node-red/runtime
  CVE-2021-21298 path traversal through the Projects API (fixed in 1.2.8; its HTTP routes are in @node-red/editor-api)
javascript  ghost               5.130.5          npm       -
  CVE-2026-22596 SQL injection in the members activity feed, CVE-2026-22597 SSRF in the media inliner (fixed in 5.130.6)
javascript  flowise             1.4.3            npm       -
  CVE-2024-36420 file read through the fileName of /api/v1/openai-assistants-file (GHSL-2023-232, reported against 1.4.3; compiled dist/ as published)
javascript  directus            9.22.4           npm       -
  CVE-2023-26492 SSRF past the IP deny-list of /files/import by DNS rebinding (fixed in 9.23.0; compiled dist/ as published)
javascript  vite                6.2.2            npm       -
  CVE-2025-30208 file read past server.fs.deny through ?raw?? in the dev server (fixed in 6.2.3; bundled dist/ as published)
javascript  webpack-dev-middleware 5.3.3         npm       -
  CVE-2024-29180 file read through %2e%2e%2f in the URL when writeToDisk is on (fixed in 5.3.4; compiled dist/ as published)
javascript  fastify-static      4.2.3            npm       -
  CVE-2021-22963 open redirect through //host/%2e%2e in the directory redirect (fixed in 4.2.4)
javascript  koa                 2.16.1           npm       -
  CVE-2025-8129 open redirect through the Referer header of ctx.redirect('back') (fixed in 2.16.2)
javascript  angular-http-server 1.4.2            npm       -
  CVE-2018-3713 path traversal in the static file lookup (first fixed in 1.4.3; a bypass of that fix was closed in 1.6.0, GHSA-4rvg-955w-h68q)
javascript  node-srv            2.0.0            npm       -
  CVE-2018-3714 path traversal in the static file lookup (fixed in 2.1.1)
'

tool=precision-webapps
# shellcheck source=scripts/lib/corpus.sh
source "$(dirname "$0")/lib/corpus.sh"

fetch_wheel() { # name version spec stage: the installed package, as the wheel would lay it out
  need unzip
  pip_download "$3" "$2" "$4" --only-binary
  local files=("$4"/dl/*.whl)
  [[ -f ${files[0]} ]] || fail "PyPI gave no wheel for $3==$2"
  unzip -q "${files[0]}" -d "$4/src" || fail "cannot unzip $(basename "${files[0]}")"
}

# The app lines of $APPS (the indented advisory lines are documentation).
app_lines() { grep -E '^[a-z]' <<<"$APPS"; }

filters=("$@")
start=$SECONDS
fetch_all < <(app_lines)

echo
printf '%-11s %-19s %-14s %8s %9s\n' LANGUAGE APP VERSION FILES LINES
total_files=0 total_lines=0
list=$(mktemp)
trap 'rm -f "$list"' EXIT
while read -r language name version registry spec; do
  selected "$language" "$name" || continue
  dir="$dest/$language/$name-$version"
  [[ -f $dir/.complete ]] || { printf '%-11s %-19s %-14s %8s %9s\n' "$language" "$name" "$version" - MISSING; continue; }
  read -r count lines < <(source_files "$dir" "$language" "$list")
  printf '%-11s %-19s %-14s %8s %9s\n' "$language" "$name" "$version" "$count" "$lines"
  total_files=$((total_files + count)) total_lines=$((total_lines + lines))
done < <(app_lines)
printf '%-46s %8s %9s\n' TOTAL "$total_files" "$total_lines"
echo "webapps: $dest ($(du -sh "$dest" | cut -f1)), $((SECONDS - start)) s"

if ((${#failed[@]})); then
  echo "precision-webapps: could not fetch: ${failed[*]}" >&2
  exit 1
fi
