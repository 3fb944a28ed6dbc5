// unified-ring-buffer native addon: the little that JavaScript cannot do itself.
//
//   mapShared(fd, length)                   -> SharedArrayBuffer over mmap(fd, MAP_SHARED)
//   futexWait(sab, byteOffset, value, ms)   -> "ok" | "not-equal" | "timed-out"   (blocks)
//   futexWaitAsync(sab, byteOffset, value, ms, done) -> id; later done("ok" | ...)  (a thread of the addon waits)
//   futexCancel(id)                         -> ends an async wait with "cancelled"
//   futexWake(sab, byteOffset)              -> number of waiters woken
//   fileSize(fd)                            -> the open file's size in bytes (fstat, no Stats object)
//
// Why native: Node-API cannot make a SharedArrayBuffer over foreign memory, and Atomics.wait/notify
// only reach threads of one process (V8 keeps its own waiter list). The futex calls are the
// shared (not FUTEX_PRIVATE) kind: the kernel keys them by the mapped file page, so waiters and
// wakers may live in different processes. Everything else (file creation, validation, the wakeup
// protocol) is TypeScript: src/node/file-ring.ts, src/node/futex.ts.
#include <node.h>
#include <uv.h>
#include <v8.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

namespace {

using v8::BackingStore;
using v8::Context;
using v8::Function;
using v8::FunctionCallbackInfo;
using v8::Global;
using v8::HandleScope;
using v8::Isolate;
using v8::Local;
using v8::Number;
using v8::Object;
using v8::SharedArrayBuffer;
using v8::String;
using v8::Value;

enum WaitResult { kOk = 0, kNotEqual = 1, kTimedOut = 2, kCancelled = 3 };
const char* const kResultNames[] = {"ok", "not-equal", "timed-out", "cancelled"};
// An async wait re-checks its cancel flag at least this often (a cancel's wake can race ahead of
// the thread's entry into the futex; this bounds how long such a thread lingers).
const int64_t kSliceNs = 200 * 1000 * 1000;

void ThrowError(Isolate* isolate, const std::string& message) {
  isolate->ThrowException(v8::Exception::Error(String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked()));
}
void ThrowRange(Isolate* isolate, const std::string& message) {
  isolate->ThrowException(v8::Exception::RangeError(String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked()));
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

#if defined(__linux__)
long Futex(int32_t* addr, int op, int32_t value, const timespec* timeout) {
  return syscall(SYS_futex, addr, op, value, timeout, nullptr, 0);
}
#endif

// Wait until *word != value, the deadline passes, or *cancel is set. Spurious wakeups (another
// waiter's cancel, signals) are absorbed: it returns kOk only once the word changed.
WaitResult WaitWhileEqual(int32_t* word, int32_t value, double timeout_ms, const std::atomic<bool>* cancel) {
#if defined(__linux__)
  const bool finite = std::isfinite(timeout_ms);
  const int64_t deadline = finite ? NowNs() + static_cast<int64_t>(std::fmax(0.0, timeout_ms) * 1e6) : 0;
  for (;;) {
    if (cancel != nullptr && cancel->load()) return kCancelled;
    // The word is shared with other processes: read it as the atomic it is.
    if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != value) return kOk;
    int64_t wait_ns = -1;  // forever
    if (finite) {
      wait_ns = deadline - NowNs();
      if (wait_ns <= 0) return kTimedOut;
    }
    if (cancel != nullptr && (wait_ns < 0 || wait_ns > kSliceNs)) wait_ns = kSliceNs;
    timespec ts;
    ts.tv_sec = static_cast<time_t>(wait_ns / 1000000000);
    ts.tv_nsec = static_cast<long>(wait_ns % 1000000000);
    // FUTEX_WAIT (shared): sleeps only if *word still holds value, atomically with the kernel's
    // check; pairs with FUTEX_WAKE in Wake() after the writer changed the word.
    long r = Futex(word, FUTEX_WAIT, value, wait_ns < 0 ? nullptr : &ts);
    if (r == 0) continue;  // woken: look at the word again
    // EAGAIN: the word moved between our load and the kernel's, the same news as our load seeing it
    // moved (kOk at the top of the loop, which looks again: a word moved back means wait again).
    if (errno == EAGAIN || errno == EINTR || errno == ETIMEDOUT) continue;  // the loop re-checks deadline and word
    return kNotEqual;  // EFAULT/EINVAL cannot happen on a checked, aligned address; do not spin
  }
#else
  (void)word; (void)value; (void)timeout_ms; (void)cancel;
  return kNotEqual;
#endif
}

// The 4-byte word at byteOffset of a SharedArrayBuffer argument, or nullptr after throwing.
int32_t* WordArg(const FunctionCallbackInfo<Value>& args, std::shared_ptr<BackingStore>* keep) {
  Isolate* isolate = args.GetIsolate();
  if (!args[0]->IsSharedArrayBuffer() || !args[1]->IsNumber()) {
    ThrowError(isolate, "expected (SharedArrayBuffer, byteOffset)");
    return nullptr;
  }
  Local<SharedArrayBuffer> sab = args[0].As<SharedArrayBuffer>();
  const double off = args[1].As<Number>()->Value();
  const size_t length = sab->ByteLength();
  if (!(off >= 0) || off != std::floor(off) || static_cast<size_t>(off) % 4 != 0 || off + 4 > static_cast<double>(length)) {
    ThrowRange(isolate, "byteOffset must be a multiple of 4 inside the buffer");
    return nullptr;
  }
  std::shared_ptr<BackingStore> store = sab->GetBackingStore();
  char* base = static_cast<char*>(store->Data());
  if (base == nullptr || reinterpret_cast<uintptr_t>(base) % 4 != 0) {
    ThrowError(isolate, "buffer memory is not 4-byte aligned");
    return nullptr;
  }
  if (keep != nullptr) *keep = store;
  return reinterpret_cast<int32_t*>(base + static_cast<size_t>(off));
}

// mapShared(fd, length): the first `length` bytes of the open file `fd`, mapped MAP_SHARED and
// wrapped in a SharedArrayBuffer. The mapping outlives the fd and is unmapped by the backing
// store's deleter, which V8 runs when the last SharedArrayBuffer over it (in any thread) is gone.
void MapShared(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (!args[0]->IsInt32() || !args[1]->IsNumber()) {
    ThrowError(isolate, "mapShared: expected (fd, length)");
    return;
  }
  const int fd = args[0].As<v8::Int32>()->Value();
  const double len = args[1].As<Number>()->Value();
  if (!(len >= 1) || len > 2147483647.0 || len != std::floor(len)) {
    ThrowRange(isolate, "mapShared: length must be an integer from 1 to 2147483647");
    return;
  }
  const size_t length = static_cast<size_t>(len);
  void* data = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    const int e = errno;
    ThrowError(isolate, std::string("mmap failed: ") + std::strerror(e));
    return;
  }
  std::unique_ptr<BackingStore> store = SharedArrayBuffer::NewBackingStore(
      data, length, [](void* p, size_t n, void*) { munmap(p, n); }, nullptr);
  args.GetReturnValue().Set(SharedArrayBuffer::New(isolate, std::move(store)));
}

// futexWait(sab, byteOffset, value, timeoutMs): block this thread while the word holds value.
void FutexWait(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int32_t* word = WordArg(args, nullptr);
  if (word == nullptr) return;
  if (!args[2]->IsInt32() || !args[3]->IsNumber()) {
    ThrowError(isolate, "futexWait: expected (sab, byteOffset, int32 value, timeoutMs)");
    return;
  }
  WaitResult r = WaitWhileEqual(word, args[2].As<v8::Int32>()->Value(), args[3].As<Number>()->Value(), nullptr);
  args.GetReturnValue().Set(String::NewFromUtf8(isolate, kResultNames[r]).ToLocalChecked());
}

// futexWake(sab, byteOffset): wake every thread of every process waiting on the word.
void FutexWake(const FunctionCallbackInfo<Value>& args) {
  int32_t* word = WordArg(args, nullptr);
  if (word == nullptr) return;
#if defined(__linux__)
  // FUTEX_WAKE (shared); pairs with FUTEX_WAIT in WaitWhileEqual(). The caller changed the word first.
  long n = Futex(word, FUTEX_WAKE, INT_MAX, nullptr);
  args.GetReturnValue().Set(static_cast<double>(n < 0 ? 0 : n));
#else
  args.GetReturnValue().Set(0.0);
#endif
}

// fileSize(fd): st_size of the open file. A file ring checks it at each page switch (a truncated
// file under the mapping would be a SIGBUS); fs.fstatSync would build a Stats object with four Dates.
void FileSize(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (!args[0]->IsInt32()) {
    ThrowError(isolate, "fileSize: expected (fd)");
    return;
  }
  struct stat st;
  if (fstat(args[0].As<v8::Int32>()->Value(), &st) != 0) {
    const int e = errno;
    ThrowError(isolate, std::string("fstat failed: ") + std::strerror(e));
    return;
  }
  args.GetReturnValue().Set(static_cast<double>(st.st_size));
}

// ---- asynchronous waits: persistent wait threads, completion through one uv_async_t ----------
//
// A wait runs on a thread of the addon that stays for the next one: creating and joining an OS
// thread per wait was half of a draining `urb record`'s CPU (the drain waits 10-20 times a second).
// A thread that finished its wait goes back to the idle list at once and sleeps on its condition
// variable; a wait takes an idle thread, or starts one when every thread is busy, so there are as
// many threads as waits ever ran at the same time (one per ring a process drains, usually).

struct WaitThread;

// One async wait: what the thread needs and what the event loop calls back.
struct Waiter {
  uint32_t id;
  std::shared_ptr<BackingStore> store;  // keeps the mapping alive while a thread waits on it
  int32_t* word;
  int32_t value;
  double timeout_ms;
  std::atomic<bool> cancelled{false};
  WaitResult result = kOk;
  Global<Function> done;
  Global<Object> resource;
  node::async_context async_context;
};

// Per Node environment (main thread or worker): its wait threads and the waits in flight.
struct AddonState {
  Isolate* isolate;
  uv_loop_t* loop;
  uint32_t next_id = 1;
  std::unordered_map<uint32_t, Waiter*> waiters;  // event loop thread only
  std::vector<WaitThread*> threads;               // event loop thread only: every thread, for Cleanup
  uv_async_t* done_async = nullptr;               // wakes the event loop when waits finished
  uv_mutex_t mu;                                  // guards idle, finished and each thread's job/stop
  std::vector<WaitThread*> idle;
  std::vector<Waiter*> finished;
};

struct WaitThread {
  AddonState* state;
  uv_thread_t thread;
  uv_cond_t wake;            // signalled when job or stop is set
  Waiter* job = nullptr;     // under state->mu
  bool stop = false;         // under state->mu
};

void RunWaitThread(void* arg) {
  WaitThread* t = static_cast<WaitThread*>(arg);
  AddonState* s = t->state;
  uv_mutex_lock(&s->mu);
  for (;;) {
    while (t->job == nullptr && !t->stop) uv_cond_wait(&t->wake, &s->mu);
    if (t->job == nullptr) break;  // stop, nothing to finish
    Waiter* w = t->job;
    uv_mutex_unlock(&s->mu);
    w->result = WaitWhileEqual(w->word, w->value, w->timeout_ms, &w->cancelled);
    uv_mutex_lock(&s->mu);
    // Hand the result to the event loop (the mutex orders the result before OnWaitsDone's read;
    // uv_async_send is the one libuv call safe from any thread). This thread never touches w again.
    t->job = nullptr;
    s->finished.push_back(w);
    s->idle.push_back(t);
    uv_async_send(s->done_async);
  }
  uv_mutex_unlock(&s->mu);
}

void DeleteWaiter(Waiter* w) {
  w->done.Reset();
  w->resource.Reset();
  delete w;
}

// On the event loop: one or more waits finished. Callbacks may start or cancel waits (re-entry).
void OnWaitsDone(uv_async_t* handle) {
  AddonState* s = static_cast<AddonState*>(handle->data);
  std::vector<Waiter*> done;
  uv_mutex_lock(&s->mu);
  done.swap(s->finished);
  uv_mutex_unlock(&s->mu);
  for (Waiter* w : done) s->waiters.erase(w->id);  // a cancel from a callback below finds none of them
  Isolate* isolate = s->isolate;
  for (Waiter* w : done) {
    HandleScope scope(isolate);
    Local<Function> fn = w->done.Get(isolate);
    Local<Object> resource = w->resource.Get(isolate);
    Local<Value> argv[1] = {String::NewFromUtf8(isolate, kResultNames[w->result]).ToLocalChecked()};
    // MakeCallback runs the microtasks and nextTicks the callback queues (it settles a promise).
    node::MakeCallback(isolate, resource, fn, 1, argv, w->async_context).FromMaybe(Local<Value>());
    node::EmitAsyncDestroy(isolate, w->async_context);
    DeleteWaiter(w);
  }
}

// An idle wait thread, or a new one (nullptr if the OS refuses a thread).
WaitThread* TakeThread(AddonState* s) {
  uv_mutex_lock(&s->mu);
  WaitThread* t = nullptr;
  if (!s->idle.empty()) {
    t = s->idle.back();
    s->idle.pop_back();
  }
  uv_mutex_unlock(&s->mu);
  if (t != nullptr) return t;
  t = new WaitThread();
  t->state = s;
  uv_cond_init(&t->wake);
  if (uv_thread_create(&t->thread, RunWaitThread, t) != 0) {
    uv_cond_destroy(&t->wake);
    delete t;
    return nullptr;
  }
  s->threads.push_back(t);
  return t;
}

// futexWaitAsync(sab, byteOffset, value, timeoutMs, done): wait on another thread; done(result)
// runs on this thread's event loop. Returns an id for futexCancel(). The wait does not keep the
// event loop alive by itself (the JS side holds a timer while it waits).
void FutexWaitAsync(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  AddonState* state = static_cast<AddonState*>(args.Data().As<v8::External>()->Value());
  std::shared_ptr<BackingStore> store;
  int32_t* word = WordArg(args, &store);
  if (word == nullptr) return;
  if (!args[2]->IsInt32() || !args[3]->IsNumber() || !args[4]->IsFunction()) {
    ThrowError(isolate, "futexWaitAsync: expected (sab, byteOffset, int32 value, timeoutMs, done)");
    return;
  }
  WaitThread* t = TakeThread(state);
  if (t == nullptr) {
    ThrowError(isolate, "futexWaitAsync: cannot start a thread");
    return;
  }
  Waiter* w = new Waiter();
  w->id = state->next_id++;
  if (state->next_id == 0) state->next_id = 1;
  w->store = store;
  w->word = word;
  w->value = args[2].As<v8::Int32>()->Value();
  w->timeout_ms = args[3].As<Number>()->Value();
  w->done.Reset(isolate, args[4].As<Function>());
  Local<Object> resource = Object::New(isolate);
  w->resource.Reset(isolate, resource);
  w->async_context = node::EmitAsyncInit(isolate, resource, "URB_FUTEX_WAIT");
  state->waiters.emplace(w->id, w);
  uv_mutex_lock(&state->mu);
  t->job = w;
  uv_cond_signal(&t->wake);
  uv_mutex_unlock(&state->mu);
  args.GetReturnValue().Set(static_cast<double>(w->id));
}

void CancelWaiter(Waiter* w) {
  w->cancelled.store(true);
#if defined(__linux__)
  // Wake the thread so it sees the flag (other sleepers on the word wake spuriously and sleep
  // again: WaitWhileEqual() absorbs it). A wake that races ahead of the thread's wait is covered
  // by the thread's time slices.
  Futex(w->word, FUTEX_WAKE, INT_MAX, nullptr);
#endif
}

// futexCancel(id): end an async wait early; its done() is called with "cancelled" (unless it
// finished already). Unknown ids are ignored.
void FutexCancel(const FunctionCallbackInfo<Value>& args) {
  AddonState* state = static_cast<AddonState*>(args.Data().As<v8::External>()->Value());
  if (!args[0]->IsNumber()) return;
  auto it = state->waiters.find(static_cast<uint32_t>(args[0].As<Number>()->Value()));
  if (it != state->waiters.end()) CancelWaiter(it->second);
}

// The environment is going away (a worker terminates, the process exits): end every wait and
// every wait thread before the loop and the isolate are gone. Callbacks are not called any more.
void Cleanup(void* arg) {
  AddonState* state = static_cast<AddonState*>(arg);
  for (auto& entry : state->waiters) CancelWaiter(entry.second);
  uv_mutex_lock(&state->mu);
  for (WaitThread* t : state->threads) {
    t->stop = true;
    uv_cond_signal(&t->wake);
  }
  uv_mutex_unlock(&state->mu);
  for (WaitThread* t : state->threads) {
    uv_thread_join(&t->thread);  // a waiting thread sees its cancel flag within kSliceNs
    uv_cond_destroy(&t->wake);
    delete t;
  }
  // Every wait in flight is in the map (finished ones until OnWaitsDone delivered them).
  for (auto& entry : state->waiters) DeleteWaiter(entry.second);
  state->waiters.clear();
  // No close callback, and the handle's memory is left to the process (one per environment that
  // loaded the addon): a worker's environment unloads the addon right after this hook, before
  // libuv finishes the close, and a callback here would be code that is gone (a SIGSEGV, as the
  // per-wait handles of the old addon caused for a worker that ended with a wait in flight).
  uv_close(reinterpret_cast<uv_handle_t*>(state->done_async), nullptr);
  uv_mutex_destroy(&state->mu);
  delete state;
}

void SetMethod(Isolate* isolate, Local<Context> context, Local<Object> exports, const char* name, v8::FunctionCallback fn, Local<Value> data) {
  Local<Function> f = v8::FunctionTemplate::New(isolate, fn, data)->GetFunction(context).ToLocalChecked();
  exports->Set(context, String::NewFromUtf8(isolate, name).ToLocalChecked(), f).Check();
}

}  // namespace

// Context-aware: loadable in the main thread and in every worker (each gets its own state).
NODE_MODULE_INIT() {
  // The isolate loading us (Context::GetIsolate() is gone from Node 26's V8).
  Isolate* isolate = Isolate::GetCurrent();
  AddonState* state = new AddonState();
  state->isolate = isolate;
  state->loop = node::GetCurrentEventLoop(isolate);
  uv_mutex_init(&state->mu);
  state->done_async = new uv_async_t();
  state->done_async->data = state;
  uv_async_init(state->loop, state->done_async, OnWaitsDone);
  uv_unref(reinterpret_cast<uv_handle_t*>(state->done_async));  // waits do not keep the loop alive
  node::AddEnvironmentCleanupHook(isolate, Cleanup, state);
  Local<Value> data = v8::External::New(isolate, state);
  SetMethod(isolate, context, exports, "mapShared", MapShared, data);
  SetMethod(isolate, context, exports, "futexWait", FutexWait, data);
  SetMethod(isolate, context, exports, "futexWaitAsync", FutexWaitAsync, data);
  SetMethod(isolate, context, exports, "futexCancel", FutexCancel, data);
  SetMethod(isolate, context, exports, "futexWake", FutexWake, data);
  SetMethod(isolate, context, exports, "fileSize", FileSize, data);
#if defined(__linux__)
  exports->Set(context, String::NewFromUtf8(isolate, "futex").ToLocalChecked(), v8::True(isolate)).Check();
#else
  exports->Set(context, String::NewFromUtf8(isolate, "futex").ToLocalChecked(), v8::False(isolate)).Check();
#endif
  (void)module;
}
