/// The single search page served at `GET /`: plain HTML + JS, no build step, no external
/// resources. Runs the search in the `q` URL parameter on load (so a headless screenshot of
/// `/?q=...` shows results); `?video=ID` opens the per-video view.
///
/// Written as real files in `Resources/page/` (`index.html`, `page.css`, `page.js`, which
/// HTML, CSS and JS tools read; `PageFilesTests` parses them) and compiled into the binary
/// (`.embedInCode`, like `openapi.json`). Served as one document: the stylesheet and the
/// script are inlined where `index.html` links them, so the page stays one request and the
/// server no routes outside the API contract.
enum SearchPage {
    /// How `index.html` links its two files (relative, so the folder also opens from disk).
    static let stylesheetLink = #"<link rel="stylesheet" href="page.css">"#
    static let scriptLink = #"<script src="page.js"></script>"#

    static let html: String = {
        let page = String(decoding: PackageResources.index_html, as: UTF8.self)
        let css = String(decoding: PackageResources.page_css, as: UTF8.self)
        let js = String(decoding: PackageResources.page_js, as: UTF8.self)
        return
            page
            .replacingOccurrences(of: stylesheetLink, with: "<style>\n" + css + "</style>")
            .replacingOccurrences(of: scriptLink, with: "<script>\n" + js + "</script>")
    }()
}
