#include "core/stats/statsd_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qd {
namespace {

class StatsdLineTest : public ::testing::Test {
 protected:
  // Parses `text`, expecting success.
  const StatsdLine& Good(std::string_view text) {
    Status s = ParseStatsdLine(text, &line_);
    EXPECT_TRUE(s.ok()) << text << ": " << (s.ok() ? "" : s.message());
    return line_;
  }

  // Parses `text`, expecting an error; returns its message.
  std::string Error(std::string_view text) {
    Status s = ParseStatsdLine(text, &line_);
    EXPECT_FALSE(s.ok()) << text;
    return s.ok() ? "" : s.message();
  }

  std::vector<double> Numbers() const {
    std::vector<double> out;
    for (const auto& v : line_.values) out.push_back(v.number);
    return out;
  }

  std::vector<std::string> Tags() const {
    std::vector<std::string> out;
    for (const auto& t : line_.tags) {
      out.push_back(std::string(t.key) + "=" + std::string(t.value));
    }
    return out;
  }

  StatsdLine line_;
};

using Strings = std::vector<std::string>;

TEST_F(StatsdLineTest, ParsesEachMetricType) {
  struct Case {
    const char* text;
    StatsdType type;
  } cases[] = {
      {"a.b:1|c", StatsdType::kCounter}, {"a.b:1|g", StatsdType::kGauge},
      {"a.b:1|ms", StatsdType::kTimer},  {"a.b:1|h", StatsdType::kHistogram},
      {"a.b:1|s", StatsdType::kSet},     {"a.b:1|d", StatsdType::kDistribution},
  };
  for (const auto& c : cases) {
    const StatsdLine& line = Good(c.text);
    EXPECT_EQ(line.type, c.type) << c.text;
    EXPECT_EQ(line.name, "a.b");
    ASSERT_EQ(line.values.size(), 1u);
    EXPECT_EQ(line.values[0].number, c.type == StatsdType::kSet ? 0 : 1);
    EXPECT_EQ(line.values[0].text, "1");
    EXPECT_FALSE(line.values[0].delta);
    EXPECT_EQ(line.sample_rate, 1);
    EXPECT_TRUE(line.tags.empty());
    EXPECT_TRUE(line.text.empty());
  }
}

TEST_F(StatsdLineTest, ParsesNumbers) {
  EXPECT_EQ(Good("t:12.5|ms").values[0].number, 12.5);
  EXPECT_EQ(Good("t:0|ms").values[0].number, 0);
  EXPECT_EQ(Good("c:-3|c").values[0].number, -3);
  EXPECT_EQ(Good("c:1e3|c").values[0].number, 1000);
  EXPECT_EQ(Good("h:-2.5|h").values[0].number, -2.5);
}

TEST_F(StatsdLineTest, ParsesSampleRate) {
  EXPECT_EQ(Good("a:1|c|@0.1").sample_rate, 0.1);
  EXPECT_EQ(Good("a:1|ms|@1").sample_rate, 1);
}

TEST_F(StatsdLineTest, ParsesTags) {
  Good("a:1|c|#site:default,queue:mail,canary");
  EXPECT_EQ(Tags(), (Strings{"site=default", "queue=mail", "canary="}));
  Good("a:1|c|#url:http://x");  // the value keeps later ':'
  EXPECT_EQ(Tags(), (Strings{"url=http://x"}));
  Good("a:1|c|#k:");
  EXPECT_EQ(Tags(), (Strings{"k="}));
}

TEST_F(StatsdLineTest, ParsesRateAndTagsInEitherOrder) {
  const StatsdLine& a = Good("a:1|c|@0.5|#k:v");
  EXPECT_EQ(a.sample_rate, 0.5);
  EXPECT_EQ(Tags(), (Strings{"k=v"}));
  const StatsdLine& b = Good("a:1|c|#k:v|@0.25");
  EXPECT_EQ(b.sample_rate, 0.25);
  EXPECT_EQ(Tags(), (Strings{"k=v"}));
}

TEST_F(StatsdLineTest, AcceptsContainerIdAndTimestampFields) {
  const StatsdLine& line = Good("a:1|g|#k:v|c:abc123|T1700000000");
  EXPECT_EQ(line.type, StatsdType::kGauge);
  EXPECT_EQ(Tags(), (Strings{"k=v"}));
}

TEST_F(StatsdLineTest, ParsesGaugeDeltas) {
  const StatsdLine& plus = Good("g:+4|g");
  EXPECT_TRUE(plus.values[0].delta);
  EXPECT_EQ(plus.values[0].number, 4);
  const StatsdLine& minus = Good("g:-2.5|g");
  EXPECT_TRUE(minus.values[0].delta);
  EXPECT_EQ(minus.values[0].number, -2.5);
  EXPECT_FALSE(Good("g:7|g").values[0].delta);
}

TEST_F(StatsdLineTest, ParsesPackedValues) {
  Good("t:1:2.5:3|ms");
  EXPECT_EQ(Numbers(), (std::vector<double>{1, 2.5, 3}));
  const StatsdLine& g = Good("g:5:+1:-2|g");
  EXPECT_EQ(Numbers(), (std::vector<double>{5, 1, -2}));
  EXPECT_FALSE(g.values[0].delta);
  EXPECT_TRUE(g.values[1].delta);
  EXPECT_TRUE(g.values[2].delta);
}

TEST_F(StatsdLineTest, ParsesSetMembers) {
  const StatsdLine& line = Good("users:alice:bob|s");
  ASSERT_EQ(line.values.size(), 2u);
  EXPECT_EQ(line.values[0].text, "alice");
  EXPECT_EQ(line.values[1].text, "bob");
}

TEST_F(StatsdLineTest, ParsesEvents) {
  const StatsdLine& line =
      Good("_e{8,4}:qd.state|busy|#host:h1,id:main,slot:0");
  EXPECT_EQ(line.type, StatsdType::kEvent);
  EXPECT_EQ(line.name, "qd.state");
  EXPECT_EQ(line.text, "busy");
  EXPECT_TRUE(line.values.empty());
  EXPECT_EQ(Tags(), (Strings{"host=h1", "id=main", "slot=0"}));
}

TEST_F(StatsdLineTest, EventLengthsDelimitTitleAndText) {
  const StatsdLine& line = Good("_e{3,3}:a|b|c|d|#k");
  EXPECT_EQ(line.name, "a|b");
  EXPECT_EQ(line.text, "c|d");
  EXPECT_EQ(Tags(), Strings{"k="});
}

TEST_F(StatsdLineTest, ParsesEventFields) {
  const StatsdLine& line = Good(
      "_e{5,4}:title|text|d:1700000000|h:web1|k:key|p:low|s:app|t:warning|#"
      "a:b");
  EXPECT_EQ(line.name, "title");
  EXPECT_EQ(line.text, "text");
  EXPECT_EQ(Tags(), Strings{"a=b"});
  EXPECT_EQ(Good("_e{5,0}:title|").text, "");
}

TEST_F(StatsdLineTest, ReusesTheOutputBetweenLines) {
  Good("a:1:2|c|@0.5|#x:y");
  const StatsdLine& line = Good("b:3|g");
  EXPECT_EQ(line.name, "b");
  EXPECT_EQ(Numbers(), std::vector<double>{3});
  EXPECT_EQ(line.sample_rate, 1);
  EXPECT_TRUE(line.tags.empty());
}

TEST_F(StatsdLineTest, NamesWhatIsWrongAndWhere) {
  EXPECT_EQ(Error("a:x1|c"), "bad value 'x1' in 'a:x1|c'");
  EXPECT_EQ(Error(""), "empty line");
  EXPECT_EQ(Error("abc"), "missing ':' in 'abc'");
  EXPECT_EQ(Error(":1|c"), "empty name in ':1|c'");
  EXPECT_EQ(Error("a b:1|c"), "bad name 'a b' in 'a b:1|c'");
  EXPECT_EQ(Error("a|b:1|c"), "bad name 'a|b' in 'a|b:1|c'");
  EXPECT_EQ(Error("a:1"), "missing type in 'a:1'");
  EXPECT_EQ(Error("a:1|"), "missing type in 'a:1|'");
  EXPECT_EQ(Error("a:1|x"), "unknown type 'x' in 'a:1|x'");
  EXPECT_EQ(Error("a:1|C"), "unknown type 'C' in 'a:1|C'");
  EXPECT_EQ(Error("a:|c"), "empty value in 'a:|c'");
  EXPECT_EQ(Error("a:1::2|ms"), "empty value in 'a:1::2|ms'");
  EXPECT_EQ(Error("a:1:|ms"), "empty value in 'a:1:|ms'");
  EXPECT_EQ(Error("a:+1|c"), "bad value '+1' in 'a:+1|c'");
  EXPECT_EQ(Error("a:1.2.3|c"), "bad value '1.2.3' in 'a:1.2.3|c'");
  EXPECT_EQ(Error("a:nan|g"), "bad value 'nan' in 'a:nan|g'");
  EXPECT_EQ(Error("a:inf|ms"), "bad value 'inf' in 'a:inf|ms'");
  EXPECT_EQ(Error("a:0x10|c"), "bad value '0x10' in 'a:0x10|c'");
  EXPECT_EQ(Error("a:1e999|c"), "bad value '1e999' in 'a:1e999|c'");
  EXPECT_EQ(Error("a: 1|c"), "bad value ' 1' in 'a: 1|c'");
  EXPECT_EQ(Error("g:+-1|g"), "bad value '+-1' in 'g:+-1|g'");
  EXPECT_EQ(Error("g:--1|g"), "bad value '--1' in 'g:--1|g'");
  EXPECT_EQ(Error("g:+|g"), "bad value '+' in 'g:+|g'");
  EXPECT_EQ(Error("t:-1|ms"), "negative timing '-1' in 't:-1|ms'");
  EXPECT_EQ(Error("u:a b|s"), "bad set member 'a b' in 'u:a b|s'");
}

TEST_F(StatsdLineTest, RefusesBadFields) {
  EXPECT_EQ(Error("a:1|c|@0"), "bad sample rate '@0' in 'a:1|c|@0'");
  EXPECT_EQ(Error("a:1|c|@1.5"), "bad sample rate '@1.5' in 'a:1|c|@1.5'");
  EXPECT_EQ(Error("a:1|c|@-1"), "bad sample rate '@-1' in 'a:1|c|@-1'");
  EXPECT_EQ(Error("a:1|c|@"), "bad sample rate '@' in 'a:1|c|@'");
  EXPECT_EQ(Error("a:1|c|@0.5|@0.5"),
            "sample rate given twice in 'a:1|c|@0.5|@0.5'");
  EXPECT_EQ(Error("a:1|c|"), "empty field in 'a:1|c|'");
  EXPECT_EQ(Error("a:1|c||#k"), "empty field in 'a:1|c||#k'");
  EXPECT_EQ(Error("a:1|c|x"), "unknown field 'x' in 'a:1|c|x'");
  EXPECT_EQ(Error("a:1|c|T12x"), "unknown field 'T12x' in 'a:1|c|T12x'");
  EXPECT_EQ(Error("a:1|c|#"), "empty tags in 'a:1|c|#'");
  EXPECT_EQ(Error("a:1|c|#a,,b"), "empty tag in 'a:1|c|#a,,b'");
  EXPECT_EQ(Error("a:1|c|#a,"), "empty tag in 'a:1|c|#a,'");
  EXPECT_EQ(Error("a:1|c|#:v"), "empty tag key ':v' in 'a:1|c|#:v'");
  EXPECT_EQ(Error("a:1|c|#a b"), "bad tag 'a b' in 'a:1|c|#a b'");
  EXPECT_EQ(Error("a:1|c|#a|#b"), "tags given twice in 'a:1|c|#a|#b'");
}

TEST_F(StatsdLineTest, RefusesBadEvents) {
  EXPECT_EQ(Error("_e{x,1}:a|b"), "bad event header in '_e{x,1}:a|b'");
  EXPECT_EQ(Error("_e{1}:a|b"), "bad event header in '_e{1}:a|b'");
  EXPECT_EQ(Error("_e{1,1:a|b"), "bad event header in '_e{1,1:a|b'");
  EXPECT_EQ(Error("_e{1,1}a|b"), "missing ':' after '_e{1,1}' in '_e{1,1}a|b'");
  EXPECT_EQ(Error("_e{0,1}:|b"), "empty event title in '_e{0,1}:|b'");
  EXPECT_EQ(Error("_e{5,10}:title|text"),
            "event lengths longer than the line: '_e{5,10}' in "
            "'_e{5,10}:title|text'");
  EXPECT_EQ(Error("_e{4,4}:title|text"),
            "event title is not 4 bytes in '_e{4,4}:title|text'");
  EXPECT_EQ(Error("_e{5,3}:title|text"),
            "event text is not 3 bytes in '_e{5,3}:title|text'");
  EXPECT_EQ(Error("_e{5,4}:title|text|x:1"),
            "unknown event field 'x:1' in '_e{5,4}:title|text|x:1'");
  EXPECT_EQ(Error("_e{5,4}:title|text|p:high"),
            "bad event field 'p:high' in '_e{5,4}:title|text|p:high'");
  EXPECT_EQ(Error("_e{5,4}:title|text|"),
            "empty field in '_e{5,4}:title|text|'");
  EXPECT_EQ(Error("_e{99999999,1}:a|b"),
            "bad event header in '_e{99999999,1}:a|b'");
  EXPECT_EQ(Error("_sc|check|0"),
            "service checks are not supported in '_sc|check|0'");
}

TEST_F(StatsdLineTest, BoundsLineLength) {
  std::string line = "a:" + std::string(kMaxStatsdLine, '1') + "|c";
  EXPECT_EQ(Error(line).rfind("line too long (65540 bytes, at most 65536)", 0),
            0u);
  std::string longest = "a:1|c|#k:" + std::string(kMaxStatsdLine - 9, 'v');
  ASSERT_EQ(longest.size(), kMaxStatsdLine);
  Good(longest);
}

TEST_F(StatsdLineTest, QuotesLongAndBinaryLinesShortened) {
  std::string message = Error("a:1|c|#" + std::string(500, 'k') + "\x01");
  EXPECT_LT(message.size(), 300u);
  EXPECT_NE(message.find("...'"), std::string::npos) << message;
  EXPECT_EQ(Error(std::string("a\x01:1|c", 6)),
            "bad name 'a\\x01' in 'a\\x01:1|c'");
  EXPECT_EQ(Error(std::string("a:\0|c", 5)),
            "bad value '\\x00' in 'a:\\x00|c'");
}

TEST_F(StatsdLineTest, SurvivesArbitraryBytes) {
  // Every prefix of a rich line and a few mangled ones: no crash, and each
  // result is either a parse or a message.
  std::string rich =
      "_e{8,4}:qd.state|busy|#host:h1\nqd.job.duration:1:2|ms|@0.5|#a:b";
  for (size_t n = 0; n <= rich.size(); ++n) {
    Status s = ParseStatsdLine(std::string_view(rich).substr(0, n), &line_);
    if (!s.ok()) {
      EXPECT_FALSE(s.message().empty());
    }
  }
  uint32_t seed = 1;
  for (int i = 0; i < 2000; ++i) {
    std::string mangled = rich;
    for (int j = 0; j < 4; ++j) {
      seed = seed * 1103515245 + 12345;
      mangled[seed % mangled.size()] = static_cast<char>(seed >> 16);
    }
    (void)ParseStatsdLine(mangled, &line_);
  }
}

TEST_F(StatsdLineTest, SplitsDatagrams) {
  std::vector<std::string> names;
  std::vector<std::string> errors;
  size_t bad = ParseStatsdDatagram(
      "a:1|c\nb:2|g\n\nbad\n_e{1,1}:e|x\nc:x|c\n", &line_,
      [&](const StatsdLine& l) { names.emplace_back(l.name); },
      [&](const Status& s) { errors.push_back(s.message()); });
  EXPECT_EQ(bad, 2u);
  EXPECT_EQ(names, (Strings{"a", "b", "e"}));
  EXPECT_EQ(errors,
            (Strings{"missing ':' in 'bad'", "bad value 'x' in 'c:x|c'"}));
}

TEST_F(StatsdLineTest, SplitsDatagramsWithoutAnErrorCallback) {
  size_t good = 0;
  EXPECT_EQ(ParseStatsdDatagram("x\ny:1|c", &line_,
                                [&](const StatsdLine&) { ++good; }),
            1u);
  EXPECT_EQ(good, 1u);
  EXPECT_EQ(ParseStatsdDatagram("", &line_, [&](const StatsdLine&) { ++good; }),
            0u);
  EXPECT_EQ(good, 1u);
}

TEST_F(StatsdLineTest, NamesTypes) {
  EXPECT_STREQ(StatsdTypeName(StatsdType::kCounter), "counter");
  EXPECT_STREQ(StatsdTypeName(StatsdType::kTimer), "timer");
  EXPECT_STREQ(StatsdTypeName(StatsdType::kDistribution), "distribution");
  EXPECT_STREQ(StatsdTypeName(StatsdType::kEvent), "event");
}

}  // namespace
}  // namespace qd
