// torch.save files: libtorch's own pickler and zip-archive writer (what torch::jit::pickle_save
// does), so that sj writes state dicts that Python's `torch.load` reads. pickle_save itself tags the
// dictionary with its TorchScript type (torch.jit._pickle.restore_type_tag), which Python's
// `torch.load(weights_only=True)`, the default since 2.6, refuses; so the same steps run here with
// the type tags off. (libtorch's pickle_load cannot read the OrderedDict state dicts Python writes;
// sj reads them with the pytorch-reader crate.)
#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

extern "C" {
typedef void (*sj_torch_file_write_fn)(void* ctx, const char* data, int64_t len);

// Writes {names[i]: tensors[i]} (a plain dict, in this order) in torch.save's zip format and hands
// the bytes to `write`. Returns 0, or 1 with the message in err. Never throws.
int sj_torch_file_save(const char* const* names, at::Tensor* const* tensors, int64_t n, void* ctx,
                       sj_torch_file_write_fn write, char* err, int64_t err_len) {
  try {
    auto dict = c10::impl::GenericDict(c10::StringType::get(), c10::TensorType::get());
    for (int64_t i = 0; i < n; ++i) dict.insert(std::string(names[i]), *tensors[i]);
    std::vector<char> pickle;
    torch::jit::Pickler pickler(
        [&](const char* buf, size_t size) { pickle.insert(pickle.end(), buf, buf + size); },
        /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
        /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(c10::IValue(dict));
    pickler.stop();
    std::vector<char> archive;
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t len) {
      const char* bytes = static_cast<const char*>(data);
      archive.insert(archive.end(), bytes, bytes + len);
      return len;
    });
    torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(),
                                       pickler.tensorData(), writer);
    writer.writeEndOfFile();
    write(ctx, archive.data(), (int64_t)archive.size());
    return 0;
  } catch (const std::exception& e) {
    std::strncpy(err, e.what(), (size_t)err_len - 1);
    err[err_len - 1] = '\0';
    return 1;
  }
}
}
