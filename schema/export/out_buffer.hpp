// A bounded output buffer in front of a Sink: bytes are collected and handed on in chunks of about
// `capacity` bytes, so the sink sees few calls and the writer's memory never grows with the data.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "schema/export/export_writer.hpp"

namespace akt::exports {

class OutBuffer {
 public:
  explicit OutBuffer(Sink sink, std::size_t capacity = 64 * 1024) : sink_(std::move(sink)), capacity_(capacity) {
    buf_.reserve(capacity_);
  }
  // Appends; passes the buffer on once it holds `capacity` bytes or more.
  void append(std::string_view s) {
    buf_.append(s);
    if (buf_.size() > high_water_) high_water_ = buf_.size();
    if (buf_.size() >= capacity_) flush();
  }
  void push(char c) { append(std::string_view(&c, 1)); }
  void flush() {
    if (buf_.empty()) return;
    if (sink_) sink_(buf_);
    total_ += buf_.size();
    buf_.clear();
  }
  std::size_t buffered() const { return buf_.size(); }
  // Largest number of bytes ever held at once (for tests of bounded memory).
  std::size_t high_water() const { return high_water_; }
  std::size_t total_flushed() const { return total_; }

 private:
  Sink sink_;
  std::size_t capacity_;
  std::string buf_;
  std::size_t high_water_ = 0;
  std::size_t total_ = 0;
};

}  // namespace akt::exports
