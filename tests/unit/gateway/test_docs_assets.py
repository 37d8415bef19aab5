"""The files `/docs` loads: Swagger UI's from the installed package and the gateway's own."""

from __future__ import annotations

from services.gateway.docs_assets import ASSETS_PATH, assets, swagger_ui_dir


def test_swagger_ui_comes_from_the_installed_package() -> None:
    assert (swagger_ui_dir() / "swagger-ui-bundle.js").is_file()
    assert "site-packages" in str(swagger_ui_dir()) or "swagger_ui" in str(swagger_ui_dir())


def test_the_page_loads_swagger_uis_files_and_its_own_under_docs_assets() -> None:
    urls = assets().urls
    assert set(urls) == {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "favicon-32x32.png",
        "docs.js",
        "docs.css",
    }
    assert all(url.startswith(f"{ASSETS_PATH}/") for url in urls.values())
