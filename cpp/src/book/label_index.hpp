// The rows of integer account labels, for the lookups a trading process makes once per message.  A Python dict
// of 100,000 int labels reads three cache lines per lookup of a random account (its index table, its entry, the
// row's int object); this table keeps (label, row) pairs side by side in one array, open addressing with linear
// probing at most half full, so a lookup usually reads one line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace riskoffset {

class LabelIndex {
 public:
  // Row r for labels[r]; a label given twice is refused.
  explicit LabelIndex(const std::vector<std::int64_t>& labels) {
    resize_for(labels.size());
    labels_.reserve(labels.size());
    for (const std::int64_t label : labels) append(label);
  }

  // The row of `label`, or -1 when it names none.
  std::int64_t find(std::int64_t label) const noexcept {
    for (std::size_t s = slot_of(label);; s = (s + 1) & mask_) {
      const Slot& slot = slots_[s];
      if (slot.row < 0) return -1;
      if (slot.label == label) return slot.row;
    }
  }

  // `label` becomes the next row (size() before the call).
  void append(std::int64_t label) {
    if (find(label) >= 0) throw std::invalid_argument("account label " + std::to_string(label) + " is given twice");
    if (2 * (labels_.size() + 1) > slots_.size()) resize_for(labels_.size() + 1);
    insert(label, static_cast<std::int64_t>(labels_.size()));
    labels_.push_back(label);
  }

  // Forgets the labels of rows n and after.
  void truncate(std::size_t n) {
    while (labels_.size() > n) {
      erase(labels_.back());
      labels_.pop_back();
    }
  }

  std::size_t size() const noexcept { return labels_.size(); }

 private:
  struct Slot {
    std::int64_t label;
    std::int64_t row;  // -1: empty
  };

  // A multiplicative mix (splitmix64's finaliser): consecutive labels, the usual kind, land apart, and labels
  // that share their low bits do not collide.
  std::size_t slot_of(std::int64_t label) const noexcept {
    std::uint64_t x = static_cast<std::uint64_t>(label);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<std::size_t>(x ^ (x >> 31)) & mask_;
  }

  void insert(std::int64_t label, std::int64_t row) noexcept {
    std::size_t s = slot_of(label);
    while (slots_[s].row >= 0) s = (s + 1) & mask_;
    slots_[s] = Slot{label, row};
  }

  // Removes `label` (present) and shifts back the entries of its probe run that the hole would hide.
  void erase(std::int64_t label) noexcept {
    std::size_t hole = slot_of(label);
    while (slots_[hole].label != label || slots_[hole].row < 0) hole = (hole + 1) & mask_;
    for (std::size_t s = (hole + 1) & mask_; slots_[s].row >= 0; s = (s + 1) & mask_) {
      const std::size_t home = slot_of(slots_[s].label);
      // The entry at s may move into the hole when its home does not lie cyclically in (hole, s].
      const bool stays = hole <= s ? (hole < home && home <= s) : (hole < home || home <= s);
      if (stays) continue;
      slots_[hole] = slots_[s];
      hole = s;
    }
    slots_[hole].row = -1;
  }

  // At least 2 n slots (a power of two), the labels so far inserted again.
  void resize_for(std::size_t n) {
    std::size_t size = 16;
    while (size < 2 * n) size *= 2;
    slots_.assign(size, Slot{0, -1});
    mask_ = size - 1;
    for (std::size_t r = 0; r < labels_.size(); ++r) insert(labels_[r], static_cast<std::int64_t>(r));
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::vector<std::int64_t> labels_;  // by row
};

}  // namespace riskoffset
