// The autograd bridge: one torch::autograd::Function whose forward and backward call back into
// Rust (sj-kernels), so that a fused multi-step neuron is a single node in libtorch's graph.
// Only h_seq (plus v_init and the decay) is saved for backward, as SpikingJelly does.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/graph_task.h>

#include <algorithm>

#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

extern "C" {
// Rust callbacks. `cfg` is the opaque configuration handle (a Rust NeuronConfig: the charge and
// surrogate are Rust trait objects). Tensors are borrowed (at::Tensor*); outputs are new
// at::Tensor* owned by the caller afterwards. A non-empty `err` (NUL-terminated) reports a failure.
typedef void (*sj_forward_fn)(const void* cfg, at::Tensor* x, at::Tensor* v_init,
                              at::Tensor* decay, at::Tensor** out3, char* err, int64_t err_len);
typedef void (*sj_backward_fn)(const void* cfg, int h_reusable, at::Tensor* grad_spike,
                               at::Tensor* grad_v_seq, at::Tensor* h_seq, at::Tensor* v_init,
                               at::Tensor* decay, at::Tensor** out3, char* err, int64_t err_len);
typedef void (*sj_drop_fn)(void* cfg);
}

namespace {

at::Tensor take(at::Tensor* p) {
  if (p == nullptr) return at::Tensor();
  at::Tensor t = *p;
  delete p;
  return t;
}

// Owns the Rust configuration: kept in the autograd context as an IValue capsule, so it lives
// exactly as long as the node, and is freed by Rust's destructor when the node goes.
struct Handle : torch::CustomClassHolder {
  Handle(void* p, sj_drop_fn drop) : p(p), drop(drop) {}
  ~Handle() override { drop(p); }
  void* p;
  sj_drop_fn drop;
};

void check(const char* err) {
  if (err[0] != '\0') throw std::runtime_error(std::string("sj fused kernel: ") + err);
}

struct FusedNeuron : public torch::autograd::Function<FusedNeuron> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::Tensor x,
                                                at::Tensor v_init, at::Tensor decay,
                                                c10::intrusive_ptr<Handle> cfg, int64_t fwd,
                                                int64_t bwd) {
    char err[512] = {0};
    at::Tensor* out[3] = {nullptr, nullptr, nullptr};
    reinterpret_cast<sj_forward_fn>(fwd)(cfg->p, &x, &v_init, decay.defined() ? &decay : nullptr,
                                         out, err, sizeof(err));
    at::Tensor spike = take(out[0]), v_seq = take(out[1]), h_seq = take(out[2]);
    check(err);
    ctx->save_for_backward({h_seq, v_init, decay});
    ctx->saved_data["cfg"] = c10::IValue::make_capsule(cfg);
    ctx->saved_data["bwd"] = bwd;
    return {spike, v_seq};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    at::Tensor h_seq = saved[0], v_init = saved[1], decay = saved[2];
    auto cfg = c10::static_intrusive_pointer_cast<Handle>(ctx->saved_data["cfg"].toCapsule());
    auto bwd = reinterpret_cast<sj_backward_fn>(ctx->saved_data["bwd"].toInt());
    // One value broadcast over the spikes (`sum().backward()`, or no gradient at all) travels as
    // one element instead of a [T, *] copy.
    const at::Tensor& g = grads[0];
    bool broadcast = g.defined() && g.numel() > 1 &&
                     std::all_of(g.strides().begin(), g.strides().end(), [](int64_t s) { return s == 0; });
    at::Tensor grad_spike = !g.defined() ? at::zeros({1}, h_seq.options())
                            : broadcast  ? g.as_strided({1}, {1}).contiguous()
                                         : g.contiguous();
    at::Tensor grad_v = grads[1].defined() ? grads[1].contiguous() : at::Tensor();
    char err[512] = {0};
    at::Tensor* out[3] = {nullptr, nullptr, nullptr};
    // Without retain_graph the engine frees this node's saved tensors right after this call, so
    // the kernel may write the input gradient over H (its last reader) instead of a new buffer.
    int h_reusable = torch::autograd::get_current_graph_task_keep_graph() ? 0 : 1;
    bwd(cfg->p, h_reusable, &grad_spike, grad_v.defined() ? &grad_v : nullptr, &h_seq,
        &v_init, decay.defined() ? &decay : nullptr, out, err, sizeof(err));
    at::Tensor grad_x = take(out[0]), grad_v_init = take(out[1]), grad_decay = take(out[2]);
    check(err);
    return {grad_x, grad_v_init, grad_decay, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// An identity node put on a neuron's state where the next step reads it: after a backward without
// retain_graph its context is released, which `sj_graph_consumed` detects. It saves nothing.
struct StateMarker : public torch::autograd::Function<StateMarker> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext*, at::Tensor x) {
    return {x.clone()};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list grads) {
    return {grads[0]};
  }
};

// Whether `fn` is one of sj's nodes, and if so whether a finished backward released it.
enum class SjNode { kOther, kLive, kReleased };

template <class F>
SjNode released(torch::autograd::Node* fn) {
  auto* node = dynamic_cast<torch::autograd::CppNode<F>*>(fn);
  if (node == nullptr) return SjNode::kOther;
  try {
    node->ctx_.get_saved_variables();  // throws once backward has freed the context
    return SjNode::kLive;
  } catch (const std::exception&) {
    return SjNode::kReleased;
  }
}

// The search from a state tensor back to the nearest sj nodes: the state's own step is a few
// dozen element-wise ops at most (charge, fire with the surrogate, reset).
constexpr int kGraphSearchDepth = 32;
constexpr size_t kGraphSearchNodes = 512;

}  // namespace

extern "C" {
// 1 when `t`'s autograd history reaches (within kGraphSearchDepth steps) a FusedNeuron or
// StateMarker node that a finished backward has released: the state of a batch that was trained
// on and not reset. 0 otherwise, including for tensors without history. Never throws.
int sj_graph_consumed(at::Tensor* t) {
  try {
    if (!t->requires_grad()) return 0;
    std::vector<std::shared_ptr<torch::autograd::Node>> frontier{t->grad_fn()};
    std::unordered_set<torch::autograd::Node*> seen;
    for (int depth = 0; depth < kGraphSearchDepth && !frontier.empty(); ++depth) {
      std::vector<std::shared_ptr<torch::autograd::Node>> next;
      for (const auto& fn : frontier) {
        if (!fn || !seen.insert(fn.get()).second || seen.size() > kGraphSearchNodes) continue;
        // The search stops at the nearest sj node on each path: a live one belongs to the
        // current batch's graph, a released one to a batch whose backward already ran.
        SjNode kind = released<FusedNeuron>(fn.get());
        if (kind == SjNode::kOther) kind = released<StateMarker>(fn.get());
        if (kind == SjNode::kReleased) return 1;
        if (kind == SjNode::kLive) continue;
        for (const auto& edge : fn->next_edges()) {
          if (edge.function) next.push_back(edge.function);
        }
      }
      frontier = std::move(next);
    }
    return 0;
  } catch (const std::exception&) {
    return 0;
  }
}

// Returns a new at::Tensor* equal to `t` with a StateMarker node on its history (or nullptr and
// the message in err).
at::Tensor* sj_mark_state(at::Tensor* t, char* err, int64_t err_len) {
  try {
    return new at::Tensor(StateMarker::apply(*t)[0]);
  } catch (const std::exception& e) {
    std::strncpy(err, e.what(), (size_t)err_len - 1);
    err[err_len - 1] = '\0';
    return nullptr;
  }
}

// Applies the fused neuron. Returns 0 and sets *spike_out, *v_seq_out (new at::Tensor*) on
// success; otherwise writes the message into err and returns 1.
// Takes ownership of `cfg` at once (freed with `drop` on every path, success or not).
int sj_fused_neuron_apply(at::Tensor* x, at::Tensor* v_init, at::Tensor* decay, void* cfg,
                          sj_drop_fn drop, sj_forward_fn fwd, sj_backward_fn bwd,
                          at::Tensor** spike_out, at::Tensor** v_seq_out, char* err,
                          int64_t err_len) {
  try {
    auto handle = c10::make_intrusive<Handle>(cfg, drop);
    auto outs = FusedNeuron::apply(*x, *v_init, decay ? *decay : at::Tensor(), handle,
                                   reinterpret_cast<int64_t>(fwd), reinterpret_cast<int64_t>(bwd));
    *spike_out = new at::Tensor(outs[0]);
    *v_seq_out = new at::Tensor(outs[1]);
    return 0;
  } catch (const std::exception& e) {
    std::strncpy(err, e.what(), (size_t)err_len - 1);
    err[err_len - 1] = '\0';
    return 1;
  }
}
}
