#include "driver/html/page.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "driver/html/text.h"

namespace tessera::html {

namespace {

// The page's only style sheet. Charts draw with classes from here and colours in attributes.
constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;background:#fff;margin:0}
main{max-width:920px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:22px;margin:8px 0 4px}
h2{font-size:18px;margin:28px 0 8px;padding-top:8px;border-top:1px solid #ddd}
p.subtitle{color:#555;margin:2px 0;font-family:ui-monospace,monospace;font-size:12px}
nav ul{list-style:none;padding:0;margin:10px 0;display:flex;flex-wrap:wrap;gap:4px 16px}
nav a,td a{color:#1f5f99}
figure.chart{margin:14px 0 22px}
figcaption{font-weight:600;margin-bottom:4px}
svg.plot{max-width:100%;height:auto;display:block}
svg.plot text{font-size:12px;fill:#333;font-family:system-ui,sans-serif}
svg.plot text.tick{fill:#555;font-size:11px}
svg.plot text.axis-title{font-size:12px;fill:#222}
svg.plot text.in-bar{fill:#fff;font-size:11px}
svg.plot text.roof-label,svg.plot text.ridge-label{font-size:11px;fill:#444}
svg.plot text.pt-label{font-size:11px;fill:#222}
svg.plot .grid{stroke:#e6e6e6;stroke-width:1}
svg.plot .grid.minor{stroke:#f3f3f3}
svg.plot .axis{stroke:#666;stroke-width:1}
svg.plot .roof{stroke-width:2.2;fill:none}
svg.plot .roof.dashed{stroke-width:1.4;stroke-dasharray:6 4}
svg.plot .ridge{fill:#fff;stroke:#333;stroke-width:1.5}
svg.plot .pt{stroke:#fff;stroke-width:1}
svg.plot .pt.ring{fill:none;stroke:#9a9a9a;stroke-width:1.3}
svg.plot .pt:hover{stroke:#000;stroke-width:2}
svg.plot .front-line{fill:none;stroke:#d1495b;stroke-width:1.5;stroke-dasharray:4 3}
svg.plot .lane{fill:#f2f2f2}
svg.plot .seg:hover,svg.plot .busy:hover{opacity:.8}
ul.legend{list-style:none;padding:0;margin:4px 0 0;display:flex;flex-wrap:wrap;gap:2px 14px;font-size:12px}
ul.legend .mark{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px}
ul.legend .mark.line{height:0;width:18px;border-top:2.5px solid;vertical-align:3px}
ul.legend .mark.line.dashed{border-top-style:dashed}
ul.legend .mark.dot{border-radius:50%;width:10px;height:10px}
ul.legend .mark.dot.ring{border:1.5px solid;width:8px;height:8px}
p.chart-note{font-size:12px;color:#8a5a00;margin:4px 0}
p.no-data,td.no-data{color:#8a5a00;font-style:italic;background:#fff8e6;padding:10px;border:1px dashed #e0c080}
table.data{border-collapse:collapse;margin:10px 0 18px;font-size:13px}
table.data caption{text-align:left;font-weight:600;padding-bottom:4px}
table.data th,table.data td{border-bottom:1px solid #e2e2e2;padding:3px 10px;text-align:left}
table.data th{background:#f5f5f5}
table.data .num{text-align:right;font-variant-numeric:tabular-nums}
footer{color:#888;font-size:12px;margin-top:30px}
)";

// The anchor for a heading: lower-case letters and digits joined by '-'.
std::string slug(const std::string& heading) {
  std::string out;
  for (char c : heading) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 0x80) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "section" : out;
}

}  // namespace

Section& Section::paragraph(const std::string& text) {
  body_ += "<p>" + escape(text) + "</p>\n";
  return *this;
}

Section& Section::key_values(const std::vector<std::pair<std::string, std::string>>& rows) {
  Table t;
  t.columns = {{"", Align::left}, {"", Align::right}};
  for (const auto& [k, v] : rows) t.rows.push_back({Cell(k), Cell(v)});
  std::string html = render(t);
  // A summary has no header row.
  const size_t a = html.find("<thead>"), b = html.find("</thead>\n");
  html.erase(a, b + 9 - a);
  body_ += html;
  return *this;
}

Section& Section::table(const Table& table) {
  body_ += render(table);
  return *this;
}

Section& Section::stacked_bars(const StackedBars& chart) {
  body_ += render(chart);
  return *this;
}

Section& Section::roofline(const Roofline& chart) {
  body_ += render(chart);
  return *this;
}

Section& Section::timeline(const Timeline& chart) {
  body_ += render(chart);
  return *this;
}

Section& Section::scatter(const Scatter& chart) {
  body_ += render(chart);
  return *this;
}

Page& Page::subtitle(const std::string& text) {
  subtitles_.push_back(text);
  return *this;
}

Section& Page::section(const std::string& heading) {
  const std::string base = slug(heading);
  std::string id = base;
  for (int n = 2;; ++n) {
    bool used = false;
    for (const Section& s : sections_) used = used || s.id_ == id;
    if (!used) break;
    id = base + "-" + std::to_string(n);
  }
  sections_.push_back(Section(heading, id));
  return sections_.back();
}

std::string Page::render() const {
  std::string out = "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n";
  out += "<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n";
  out += "<title>" + escape(title_) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<main>\n";
  out += "<h1>" + escape(title_) + "</h1>\n";
  for (const std::string& s : subtitles_) out += "<p class=\"subtitle\">" + escape(s) + "</p>\n";
  if (sections_.size() > 1) {
    out += "<nav><ul>";
    for (const Section& s : sections_) out += "<li><a href=\"#" + s.id_ + "\">" + escape(s.heading_) + "</a></li>";
    out += "</ul></nav>\n";
  }
  for (const Section& s : sections_) {
    out += "<section id=\"" + s.id_ + "\">\n<h2>" + escape(s.heading_) + "</h2>\n" + s.body_ + "</section>\n";
  }
  out += "<footer>Written by Tessera: one self-contained file, no scripts or network resources; hover over a chart "
         "element for its values.</footer>\n</main>\n</body>\n</html>\n";
  return out;
}

void Page::write(const std::string& path) const {
  std::ofstream f(path, std::ios::binary);
  const std::string text = render();
  if (f) f.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!f) throw std::runtime_error("cannot write the HTML page '" + path + "': " + std::strerror(errno));
}

}  // namespace tessera::html
