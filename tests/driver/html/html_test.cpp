// Unit tests of the page machinery: ticks, text escaping and number formatting, the Pareto front
// against a brute-force count, "no data" notes, bad data, and byte-identical output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "driver/html/axis.h"
#include "driver/html/page.h"

namespace html = tessera::html;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

html::StackedBars small_bars() {
  html::StackedBars c;
  c.title = "energy";
  c.unit = "mJ";
  c.categories = {"prefill", "decode"};
  c.series = {{"matrix", {3, 1}, ""}, {"HBM", {1, 5}, ""}};
  return c;
}

}  // namespace

TEST(HtmlText, EscapesMarkupQuotesControlsAndBadUtf8) {
  EXPECT_EQ(html::escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(html::escape("mm\xC2\xB2 \xE2\x80\x94"), "mm\xC2\xB2 \xE2\x80\x94");  // valid UTF-8 kept
  EXPECT_EQ(html::escape(std::string("a\x01" "b", 3)), "a\xEF\xBF\xBD" "b");     // control character
  EXPECT_EQ(html::escape("x\xC3"), "x\xEF\xBF\xBD");                              // truncated sequence
  EXPECT_EQ(html::escape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                // overlong '/'
  EXPECT_EQ(html::escape("tab\tnew\nline"), "tab\tnew\nline");
}

TEST(HtmlText, FormatsNumbersWithoutLocaleOrNegativeZero) {
  EXPECT_EQ(html::fixed(-0.0001, 2), "0.00");
  EXPECT_EQ(html::fixed(2.345, 1), "2.3");
  EXPECT_EQ(html::fixed(NAN, 1), "n/a");
  EXPECT_EQ(html::number(1234.56), "1235");
  EXPECT_EQ(html::number(0.012345), "0.0123");
  EXPECT_EQ(html::number(12.0), "12");
  EXPECT_EQ(html::number(2.5e9), "2.5e9");
  EXPECT_EQ(html::number(9.9996e6), "1e7");
  EXPECT_EQ(html::number(-4.2e-5), "-4.2e-5");
  EXPECT_EQ(html::number(0), "0");
}

TEST(HtmlText, RejectsColoursAndLinksThatCouldLoadOrRunAnything) {
  EXPECT_NO_THROW(html::check_colour("#1f6fb4"));
  EXPECT_NO_THROW(html::check_colour("#abc"));
  EXPECT_THROW(html::check_colour("red;background:url(http://x)"), std::invalid_argument);
  EXPECT_THROW(html::check_colour("#12345g"), std::invalid_argument);
  EXPECT_NO_THROW(html::check_href("points/3.html"));
  EXPECT_NO_THROW(html::check_href("#roofline"));
  EXPECT_NO_THROW(html::check_href("https://example.org/a:b"));
  EXPECT_NO_THROW(html::check_href("dir/a:b.html"));
  EXPECT_THROW(html::check_href("javascript:alert(1)"), std::invalid_argument);
  EXPECT_THROW(html::check_href("DATA:text/html,x"), std::invalid_argument);
}

TEST(HtmlAxis, NiceTicksUseStepsOfOneTwoFive) {
  const html::Ticks t = html::nice_ticks(0, 737);
  EXPECT_EQ(t.lo, 0);
  EXPECT_EQ(t.hi, 800);
  EXPECT_EQ(t.labels, (std::vector<std::string>{"0", "100", "200", "300", "400", "500", "600", "700", "800"}));

  EXPECT_EQ(html::nice_ticks(0, 0.37).labels,
            (std::vector<std::string>{"0", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30", "0.35", "0.40"}));
  EXPECT_EQ(html::nice_ticks(0, 45000).labels, (std::vector<std::string>{"0", "10k", "20k", "30k", "40k", "50k"}));
  EXPECT_EQ(html::nice_ticks(-3.2, 7.9).labels, (std::vector<std::string>{"-4", "-2", "0", "2", "4", "6", "8"}));

  // Every range: covered, between 3 and 13 ticks, and a step of 1, 2 or 5 times a power of ten.
  uint64_t s = 12345;  // fixed seed
  auto next = [&s] {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < 2000; ++i) {
    const double scale = std::pow(10.0, std::floor(next() * 16) - 8);
    const double a = (next() - 0.3) * scale, b = a + next() * scale;
    const html::Ticks t = html::nice_ticks(a, b);
    ASSERT_LE(t.lo, std::min(a, b)) << a << " " << b;
    ASSERT_GE(t.hi, std::max(a, b)) << a << " " << b;
    ASSERT_GE(t.values.size(), 3U) << a << " " << b;
    ASSERT_LE(t.values.size(), 13U) << a << " " << b;
    ASSERT_EQ(t.labels.size(), t.values.size());
    const double step = t.values[1] - t.values[0];
    const double mant = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    ASSERT_TRUE(std::fabs(mant - 1) < 1e-6 || std::fabs(mant - 2) < 1e-6 || std::fabs(mant - 5) < 1e-6) << step;
    for (size_t k = 1; k < t.labels.size(); ++k) ASSERT_NE(t.labels[k], t.labels[k - 1]) << a << " " << b;
  }
}

TEST(HtmlAxis, DegenerateLinearRangesAreWidened) {
  const html::Ticks t = html::nice_ticks(5, 5);
  EXPECT_LT(t.lo, 5);
  EXPECT_GT(t.hi, 5);
  const html::Ticks z = html::nice_ticks(0, 0);
  EXPECT_EQ(z.lo, 0);
  EXPECT_GT(z.hi, 0);
  EXPECT_THROW(html::nice_ticks(0, INFINITY), std::invalid_argument);
}

TEST(HtmlAxis, LogTicksAreDecades) {
  const html::Ticks t = html::log_ticks(3, 4500);
  EXPECT_EQ(t.labels, (std::vector<std::string>{"1", "10", "100", "1k", "10k"}));
  EXPECT_EQ(t.minor.size(), 4U * 8U);
  EXPECT_EQ(html::log_ticks(0.002, 0.5).labels, (std::vector<std::string>{"0.001", "0.01", "0.1", "1"}));
  const html::Ticks wide = html::log_ticks(1e-5, 1e12);
  EXPECT_EQ(wide.labels.front(), "1e-6");
  EXPECT_EQ(wide.labels[1], "0.001");  // every third decade
  EXPECT_TRUE(wide.minor.empty());
  EXPECT_THROW(html::log_ticks(0, 10), std::invalid_argument);
  const html::Scale sc{1, 100, true, 0, 200};
  EXPECT_DOUBLE_EQ(sc(10), 100);
}

TEST(HtmlCharts, ParetoFrontMatchesBruteForceForEveryGoalPair) {
  std::vector<html::ScatterPoint> pts;
  uint32_t s = 7;  // fixed seed; coarse values so ties and duplicates occur
  for (int i = 0; i < 300; ++i) {
    s = s * 1103515245U + 12345U;
    html::ScatterPoint p;
    p.x = static_cast<double>((s >> 8) % 40);
    s = s * 1103515245U + 12345U;
    p.y = static_cast<double>((s >> 8) % 40);
    p.feasible = (s >> 4) % 7 != 0;
    pts.push_back(p);
  }
  using G = html::Goal;
  for (G gx : {G::minimise, G::maximise}) {
    for (G gy : {G::minimise, G::maximise}) {
      auto better = [](double a, double b, G g) { return g == G::minimise ? a < b : a > b; };
      auto no_worse = [](double a, double b, G g) { return g == G::minimise ? a <= b : a >= b; };
      std::vector<size_t> expected;
      for (size_t i = 0; i < pts.size(); ++i) {
        if (!pts[i].feasible) continue;
        bool dominated = false;
        for (size_t j = 0; j < pts.size() && !dominated; ++j) {
          dominated = pts[j].feasible && no_worse(pts[j].x, pts[i].x, gx) && no_worse(pts[j].y, pts[i].y, gy) &&
                      (better(pts[j].x, pts[i].x, gx) || better(pts[j].y, pts[i].y, gy));
        }
        if (!dominated) expected.push_back(i);
      }
      std::vector<size_t> got = html::pareto_front(pts, gx, gy);
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, expected);
      EXPECT_FALSE(got.empty());
    }
  }
  EXPECT_TRUE(html::pareto_front(pts, G::none, G::maximise).empty());
}

TEST(HtmlCharts, EmptyChartsSayNoDataInsteadOfDrawing) {
  html::StackedBars bars;
  bars.title = "bars";
  html::StackedBars zeros = small_bars();
  zeros.series = {{"matrix", {0, 0}, ""}};
  html::Roofline roof;
  roof.title = "roof";
  html::Timeline tl;
  tl.title = "timeline";
  html::Timeline idle = tl;
  idle.lanes = {{"matrix", {}, {}}};  // no intervals and no range
  html::Scatter sc;
  sc.title = "scatter";
  html::Table table;
  table.columns = {{"a", html::Align::left}};
  for (const std::string& out : {html::render(bars), html::render(zeros), html::render(roof), html::render(tl),
                                 html::render(idle), html::render(sc), html::render(table)}) {
    EXPECT_NE(out.find("No data"), std::string::npos) << out;
    EXPECT_EQ(out.find("<svg"), std::string::npos) << out;
  }
}

TEST(HtmlCharts, EveryTextIsEscaped) {
  html::StackedBars c = small_bars();
  c.title = "<script>alert('t')</script>";
  c.categories[0] = "a&b";
  c.series[0].name = "\"quoted\"";
  const std::string out = html::render(c);
  EXPECT_EQ(out.find("<script"), std::string::npos);
  EXPECT_EQ(out.find("a&b"), std::string::npos);
  EXPECT_NE(out.find("a&amp;b"), std::string::npos);
  EXPECT_NE(out.find("&quot;quoted&quot;"), std::string::npos);
  html::Page page("<title>");
  page.section("x & y").paragraph("1 < 2");
  const std::string p = page.render();
  EXPECT_NE(p.find("<h1>&lt;title&gt;</h1>"), std::string::npos);
  EXPECT_NE(p.find("<p>1 &lt; 2</p>"), std::string::npos);
}

TEST(HtmlCharts, BadDataThrowsNamingTheChart) {
  html::StackedBars c = small_bars();
  c.series[1].values.pop_back();
  try {
    html::render(c);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("chart 'energy': series 'HBM' has 1 values for 2 categories"), std::string::npos)
        << e.what();
  }
  c = small_bars();
  c.series[0].values[0] = -1;
  EXPECT_THROW(html::render(c), std::invalid_argument);
  c = small_bars();
  c.series[0].colour = "blue";
  EXPECT_THROW(html::render(c), std::invalid_argument);

  html::Timeline tl;
  tl.title = "t";
  tl.lanes = {{"vector", {{5, 1}}, {}}};
  EXPECT_THROW(html::render(tl), std::invalid_argument);
  tl.lanes = {{"vector", {}, {0.5, 1.5}}};
  tl.end = 10;
  EXPECT_THROW(html::render(tl), std::invalid_argument);

  html::Scatter sc;
  sc.points = {{1, 2, "p", {}, "javascript:alert(1)", true}};
  EXPECT_THROW(html::render(sc), std::invalid_argument);

  html::Table table;
  table.columns = {{"a", html::Align::left}, {"b", html::Align::right}};
  table.rows = {{"only one"}};
  EXPECT_THROW(html::render(table), std::invalid_argument);
}

TEST(HtmlCharts, RooflineMarksTheRidgeAndNotesPointsItCannotPlace) {
  html::Roofline r;
  r.title = "roof";
  r.compute = {{"FP8", 2250}};
  r.bandwidth = {{"HBM", 4.8}};
  r.points = {{"decode", 60, 250, ""}, {"broken", -1, 10, ""}};
  const std::string out = html::render(r);
  EXPECT_NE(out.find("ridge 469 FLOP/B"), std::string::npos);  // 2250 / 4.8 = 468.75
  EXPECT_NE(out.find("1 point(s) not shown"), std::string::npos);
  EXPECT_NE(out.find("broken"), std::string::npos);
  // decode: attainable min(2250, 4.8 * 60) = 288; 250 / 288 = 86.8 %
  EXPECT_NE(out.find("86.8 % of the roof"), std::string::npos);
}

TEST(HtmlCharts, TimelineMergesOverlapsAndCoalescesSubPixelIntervals) {
  html::Timeline tl;
  tl.title = "t";
  tl.start = 0;
  tl.end = 40;
  tl.lanes = {{"matrix", {{5, 20}, {0, 10}}, {}}};
  EXPECT_NE(html::render(tl).find("matrix: 50.0 % busy"), std::string::npos);

  // 100,000 intervals of 1 ns with 1 ns gaps over 200 us: far below a pixel, drawn as one block.
  html::Timeline dense;
  dense.title = "dense";
  dense.time_unit = "ns";
  html::TimelineLane lane{"dma", {}, {}};
  for (int i = 0; i < 100000; ++i) lane.busy.push_back({2.0 * i, 2.0 * i + 1});
  dense.lanes = {lane};
  const std::string out = html::render(dense);
  EXPECT_LT(count(out, "<rect"), 10U);
  EXPECT_NE(out.find("dma: 50.0 % busy"), std::string::npos);
}

TEST(HtmlPage, OutputIsByteIdenticalAndSectionIdsAreUnique) {
  auto build = [] {
    html::Page page("report");
    page.subtitle("tessera run --arch tiny");
    page.section("Energy").stacked_bars(small_bars()).paragraph("text");
    page.section("Energy").key_values({{"J/token", "0.41"}});
    html::Scatter sc;
    sc.title = "front";
    sc.x = {"area", "mm²", false, html::Goal::minimise};
    sc.y = {"tokens/s", "", true, html::Goal::maximise};
    sc.points = {{100, 10, "a", {{"k", "v"}}, "a.html", true}, {200, 30, "b", {}, "", true}, {150, 5, "c", {}, "", false}};
    page.section("Sweep").scatter(sc);
    return page.render();
  };
  const std::string a = build(), b = build();
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("<section id=\"energy\">"), std::string::npos);
  EXPECT_NE(a.find("<section id=\"energy-2\">"), std::string::npos);
  EXPECT_NE(a.find("href=\"#sweep\""), std::string::npos);
  EXPECT_NE(a.find("Pareto front (2)"), std::string::npos);
  EXPECT_NE(a.find("outside the constraints (1)"), std::string::npos);
  EXPECT_EQ(a.find("<script"), std::string::npos);
}

TEST(HtmlPage, WriteNamesTheFileItCannotWrite) {
  html::Page page("p");
  try {
    page.write("/nonexistent-dir/report.html");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/report.html"), std::string::npos);
  }
}
