#include "buffer_pool.hpp"

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace py = pybind11;

namespace riskoffset_bindings {
namespace {

struct Pool {
  std::mutex mutex;
  std::multimap<std::size_t, void*> idle;  // capacity in bytes -> buffer
  std::size_t idle_bytes = 0;
};

// Never destroyed: capsules may release buffers during interpreter shutdown, after static destructors.
Pool& pool() {
  static Pool* instance = new Pool();
  return *instance;
}

struct Buffer {
  void* data;
  std::size_t capacity;
};

Buffer acquire(std::size_t bytes) {
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    // Best fit among idle buffers no more than twice the request.
    auto it = p.idle.lower_bound(bytes);
    if (it != p.idle.end() && it->first <= 2 * bytes) {
      Buffer b{it->second, it->first};
      p.idle_bytes -= it->first;
      p.idle.erase(it);
      return b;
    }
  }
  const std::size_t capacity = (bytes + 4095) / 4096 * 4096;
  void* data = std::aligned_alloc(4096, capacity);
  if (!data) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (capacity >= (std::size_t{2} << 20)) madvise(data, capacity, MADV_HUGEPAGE);  // fewer faults when it is new
#endif
  return Buffer{data, capacity};
}

void give_back(void* data, std::size_t capacity) {
  Pool& p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    if (p.idle_bytes + capacity <= kMaxPooledBytes) {
      p.idle.emplace(capacity, data);
      p.idle_bytes += capacity;
      return;
    }
  }
  std::free(data);
}

}  // namespace

template <typename T>
py::array_t<T> new_pooled_array(const std::vector<py::ssize_t>& shape) {
  const auto count = static_cast<std::size_t>(
      std::accumulate(shape.begin(), shape.end(), py::ssize_t{1}, std::multiplies<py::ssize_t>()));
  const std::size_t bytes = count * sizeof(T);
  if (bytes < kMinPooledBytes) return py::array_t<T>(shape);
  const Buffer b = acquire(bytes);
  std::unique_ptr<Buffer> owner;
  py::capsule keeper;
  try {
    owner.reset(new Buffer(b));
    keeper = py::capsule(owner.get(), [](void* p) {
      auto* buffer = static_cast<Buffer*>(p);
      give_back(buffer->data, buffer->capacity);
      delete buffer;
    });
  } catch (...) {
    give_back(b.data, b.capacity);  // the capsule never took ownership
    throw;
  }
  owner.release();  // the capsule owns it now (and frees the buffer even if the array constructor throws)
  return py::array_t<T>(shape, static_cast<T*>(b.data), keeper);
}
template py::array_t<double> new_pooled_array<double>(const std::vector<py::ssize_t>& shape);
template py::array_t<std::int64_t> new_pooled_array<std::int64_t>(const std::vector<py::ssize_t>& shape);

std::size_t release_pooled_memory() {
  Pool& p = pool();
  std::multimap<std::size_t, void*> idle;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    idle.swap(p.idle);
    p.idle_bytes = 0;
  }
  std::size_t released = 0;
  for (auto& [capacity, data] : idle) {
    released += capacity;
    std::free(data);
  }
  return released;
}

std::size_t pooled_bytes() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.idle_bytes;
}

}  // namespace riskoffset_bindings
