#include "core/listen/exit_book.h"

#include <gtest/gtest.h>

namespace qd {
namespace {

TEST(ExitBookTest, AnExitIsTakenOnceByItsPid) {
  ExitBook book;
  auto before = ExitBook::Clock::now();
  book.Record(42, 9);
  int status = 0;
  EXPECT_FALSE(book.Take(43, before, &status));
  EXPECT_TRUE(book.Take(42, before, &status));
  EXPECT_EQ(status, 9);
  EXPECT_FALSE(book.Take(42, before, &status)) << "taken already";
}

// An exit reaped before the request was sent is of another process that
// had the same pid.
TEST(ExitBookTest, AnExitBeforeTheRequestIsNotTaken) {
  ExitBook book;
  book.Record(42, 0);
  int status = 0;
  EXPECT_FALSE(
      book.Take(42, ExitBook::Clock::now() + std::chrono::seconds(1), &status));
  EXPECT_EQ(book.size(), 1u);
}

TEST(ExitBookTest, HoldsAtMostMaxEntriesOldestGoFirst) {
  ExitBook book;
  auto before = ExitBook::Clock::now();
  for (size_t i = 0; i < ExitBook::kMaxEntries + 10; ++i) {
    book.Record(static_cast<pid_t>(1000 + i), 0);
  }
  EXPECT_EQ(book.size(), ExitBook::kMaxEntries);
  int status = 0;
  EXPECT_FALSE(book.Take(1000, before, &status));
  EXPECT_TRUE(book.Take(1010, before, &status));
}

}  // namespace
}  // namespace qd
