#pragma once
// One self-contained HTML page of report sections: a title, a table of contents, and sections of
// paragraphs, tables and charts (charts.h), with inline CSS and inline SVG only — no scripts, no
// fonts, no external resources, so it opens offline from a file. Output is deterministic (no
// timestamps; sections in the order they were added) and well-formed XML, so a checker can parse it.
//
//   html::Page page("tessera run: llama3-70b on sohu-like");
//   page.section("Energy").paragraph("Energy per token ...").stacked_bars(by_component);
//   page.section("Roofline").roofline(roofline);
//   page.write("report.html");
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "driver/html/charts.h"
#include "driver/html/text.h"

namespace tessera::html {

class Section {
 public:
  Section& paragraph(const std::string& text);
  // A two-column summary table ("J/token" | "0.41").
  Section& key_values(const std::vector<std::pair<std::string, std::string>>& rows);
  Section& table(const Table& table);
  Section& stacked_bars(const StackedBars& chart);
  Section& roofline(const Roofline& chart);
  Section& timeline(const Timeline& chart);
  Section& scatter(const Scatter& chart);

  const std::string& heading() const { return heading_; }
  const std::string& id() const { return id_; }  // the anchor in the table of contents

 private:
  friend class Page;
  Section(std::string heading, std::string id) : heading_(std::move(heading)), id_(std::move(id)) {}
  std::string heading_;
  std::string id_;
  std::string body_;
};

class Page {
 public:
  explicit Page(std::string title) : title_(std::move(title)) {}

  // A line under the title (e.g. the command that produced the page).
  Page& subtitle(const std::string& text);
  // Adds a section at the end; the reference stays valid while the page lives.
  Section& section(const std::string& heading);

  std::string render() const;
  // Writes render() to `path`; throws std::runtime_error naming the file when it cannot.
  void write(const std::string& path) const;

 private:
  std::string title_;
  std::vector<std::string> subtitles_;
  std::deque<Section> sections_;
};

}  // namespace tessera::html
