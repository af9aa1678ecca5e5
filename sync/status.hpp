// Status and Result: the error values every module uses. Bottom of the dependency graph; std only.
// Status means "could not do it"; outcomes the domain expects (a rejected edit, a conflict) are data.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace akt {

class Status {
 public:
  enum class Code {
    kOk, kInvalidArgument, kNotFound, kConflict, kBusy, kUnauthenticated, kForbidden,
    kCorruption, kIOError, kTooLarge, kGone
  };

  Status() = default;  // OK; costs nothing
  static Status invalid_argument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status not_found(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status conflict(std::string msg) { return {Code::kConflict, std::move(msg)}; }
  static Status busy(std::string msg) { return {Code::kBusy, std::move(msg)}; }
  static Status unauthenticated(std::string msg) { return {Code::kUnauthenticated, std::move(msg)}; }
  static Status forbidden(std::string msg) { return {Code::kForbidden, std::move(msg)}; }
  static Status corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status io_error(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status too_large(std::string msg) { return {Code::kTooLarge, std::move(msg)}; }
  static Status gone(std::string msg) { return {Code::kGone, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Holds a T or a non-OK Status.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace akt

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define AKT_TRY(expr)            \
  do {                           \
    ::akt::Status st_ = (expr);  \
    if (!st_.ok()) return st_;   \
  } while (0)
