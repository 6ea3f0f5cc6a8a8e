"""Data Docs pages that load only files of their own site: no public CDN, no vendor's logo.

Great Expectations' page templates load bootstrap, jQuery, bootstrap-table, Font Awesome,
vega and more from public CDNs, and its logo from its vendor's bucket with the project's id
in the query: every reader's browser would tell those hosts who reads which docs, and the
pages would break without internet access. The site is rendered by the views below (the
`view` of each section and of the index in the site's configuration: Great Expectations'
own extension point), which point those links at static/vendor/ in the site, where
copy_assets puts the same files, pinned in scripts/data_docs_assets/package.json and
installed by scripts/install_data_docs_assets.sh (`make setup`).
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from great_expectations.render.components import RenderedContent
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

from flowlake.dq import data_docs_assets

log = logging.getLogger("flowlake.data_docs")

VENDOR_FOLDER = "static/vendor"
# Every URL the templates load -> the same file in an npm package of package.json.
CDN_FILES = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/dist/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/dist/bootstrap-table.min.js",
    # The templates mix 1.19.0 and 1.19.1 of bootstrap-table; the later patch serves both.
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "@fortawesome/fontawesome-free/css/all.min.css"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/dist/umd/popper.min.js",
    # jsDelivr serves a package's "jsdelivr" file for a bare major version: these builds.
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed/build/vega-embed.min.js",
}
# Folders that the files above read by relative path: Font Awesome's stylesheet loads ../webfonts/.
CDN_FOLDERS = ("@fortawesome/fontawesome-free/webfonts",)
# The vendor's images -> Great Expectations' own copies, which every site has in static/images/
# (there is none of the dark-mode logo: the other one stands in).
VENDOR_IMAGES = {"logo-long.png": "logo-long.png", "full_logo_dark.png": "logo-long.png"}
_VENDOR_IMAGE = re.compile(
    r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/"
    rf"({'|'.join(map(re.escape, VENDOR_IMAGES))})(\?[^\"')\s]*)?"
)
# Subresource integrity of CDN copies: a local file needs none, and a browser refuses a
# crossorigin script of a page opened from disk.
_CDN_INTEGRITY = re.compile(r'\s+integrity="sha\d+-[^"]*"\s+crossorigin="anonymous"')
# The footer that links to the vendor's newsletter, and the credit's link to its site (its text stays).
_NEWSLETTER_FOOTER = re.compile(r"<footer>(?:(?!</footer>).)*?greatexpectations\.io/newsletter.*?</footer>", re.S)
_VENDOR_LINK = re.compile(r'<a href="https://greatexpectations\.io/?">([^<]*)</a>')
# The templates' favicon link climbs one folder short on validation pages.
_FAVICON = re.compile(r'href="(?:\./|(?:\.\./)*)static/images/favicon\.ico"')


def site_root(document: dict) -> str:
    """The way up from a page to the site's top, as the templates' own top_navbar.j2 computes it:
    validations/<suite, one folder per dot>/<run>/<time>/<batch>.html, expectations/<suite...>.html, index.html."""
    renderer = document.get("renderer_type") or ""
    dots = (document.get("expectation_suite_name") or "").count(".")
    if "ValidationResults" in renderer or "ProfilingResults" in renderer:
        return "../" * (dots + 4)
    if "ExpectationSuite" in renderer:
        return "../" * (dots + 1)
    return ""


def offline_html(html: str, root: str) -> str:
    """The page with every CDN and vendor URL pointed at the site's own copies, root being the way up to its top."""
    for url, path in CDN_FILES.items():
        html = html.replace(f'"{url}"', f'"{root}{VENDOR_FOLDER}/{path}"')
    html = _VENDOR_IMAGE.sub(lambda found: f"{root}static/images/{VENDOR_IMAGES[found[1]]}", html)
    html = _CDN_INTEGRITY.sub("", html)
    html = _NEWSLETTER_FOOTER.sub("", html)
    html = _FAVICON.sub(f'href="{root}static/images/favicon.ico"', html)
    return _VENDOR_LINK.sub(r"\1", html)


class _OfflineView:
    """Renders a page as Great Expectations' view does, then points its CDN and vendor URLs at the site's copies."""

    def render(self, document, template=None, **kwargs):
        content = document.to_json_dict() if isinstance(document, RenderedContent) else document
        return offline_html(super().render(document, template, **kwargs), site_root(content))


class OfflinePageView(_OfflineView, DefaultJinjaPageView):
    """The suite and validation pages."""


class OfflineIndexPageView(_OfflineView, DefaultJinjaIndexPageView):
    """The index page."""


def site_config(base_directory: Path) -> dict:
    """A Data Docs site in base_directory whose pages are rendered by the offline views."""
    page_view = {"module_name": __name__, "class_name": OfflinePageView.__name__}
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(base_directory)},
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {"module_name": __name__, "class_name": OfflineIndexPageView.__name__},
        },
        # Merged into Great Expectations' own sections: their stores and renderers stay.
        "site_section_builders": {
            section: {"view": page_view} for section in ("expectations", "validations", "profiling")
        },
    }


def copy_assets(site: Path, assets: Path | None = None) -> bool:
    """Puts the files the pages load into the site's static/vendor/, unless the installed versions are there
    already; False when the assets are not installed (the pages then show unstyled, loading nothing from elsewhere).

    The site keeps a copy of the package.json it has the files of: npm gives every file the same
    modification time, so that is how a changed pin is told.
    """
    assets = assets or data_docs_assets()
    manifest = assets / "package.json"
    files = [Path(path) for path in CDN_FILES.values()]
    files += [folder / file.name for folder in map(Path, CDN_FOLDERS) for file in sorted((assets / folder).glob("*"))]
    missing = [path for path in [Path("package.json"), *files, *CDN_FOLDERS] if not (assets / path).exists()]
    if missing:
        log.warning(
            "Data Docs assets not installed in %s (no %s): run scripts/install_data_docs_assets.sh; "
            "the pages show unstyled",
            assets,
            missing[0],
        )
        return False
    vendor = site / VENDOR_FOLDER
    copied_manifest = vendor / "package.json"
    if copied_manifest.is_file() and copied_manifest.read_bytes() == manifest.read_bytes():
        return True
    for path in files:
        (vendor / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(assets / path, vendor / path)
    # Last: a copy cut short is done again by the next build.
    shutil.copyfile(manifest, copied_manifest)
    return True
