"""Datasette plugin (loaded by `make datasette` with --plugins-dir): every post_id cell links to its
post, and datasette-vega's charts are drawn large enough to read.

posts is keyed by an integer id, and its post_id (TikTok id, Instagram shortCode) is a UNIQUE column, so
Datasette's own foreign-key link /analytics/posts/<post_id> would look the value up as the integer key
and answer 404. This hook renders the cell as a link to the posts table filtered on post_id instead,
which resolves for every table, view and canned query that shows a post_id.
"""
from urllib.parse import quote

from datasette import hookimpl
from markupsafe import Markup, escape

POSTS_TABLE = "posts"


@hookimpl
def render_cell(value, column, table, database, datasette):
    if column != "post_id" or table == POSTS_TABLE:
        return None
    post_id = value.get("value") if isinstance(value, dict) else value
    if not isinstance(post_id, str) or not post_id:
        return None
    href = f"{datasette.urls.table(database, POSTS_TABLE)}?post_id={quote(post_id, safe='')}"
    return Markup(f'<a href="{escape(href)}">{escape(post_id)}</a>')


# datasette-vega 0.6 draws Vega-Lite 2's default view (a plot of about 200 x 150 px) and offers no size
# setting, so on a wide screen the page zooms its charts (CSS zoom keeps the mouse and the tooltips aligned).
CHART_ZOOM = 1.8
CHART_SIZE_SCRIPT = """
(function () {
  var style = document.createElement("style");
  style.textContent = "@media (min-width: 800px) { .vega-embed { zoom: %s; } }";
  document.head.appendChild(style);
})();
""" % CHART_ZOOM


@hookimpl
def extra_body_script():
    return CHART_SIZE_SCRIPT
