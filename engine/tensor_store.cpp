#include "engine/tensor_store.hpp"

#include <algorithm>

#include "engine/core/error.hpp"

namespace fs = std::filesystem;

namespace skingen::engine {
namespace {

bool is_safetensors(const fs::path& p) { return p.extension() == ".safetensors"; }

// The weight files of one diffusers component folder: the plain files when
// present, otherwise one variant (".fp16"), sharded files included.
std::vector<fs::path> component_files(const fs::path& dir) {
  std::vector<fs::path> plain, variant;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || !is_safetensors(e.path())) continue;
    const std::string stem = e.path().stem().string();  // without .safetensors
    if (stem.find('.') == std::string::npos) plain.push_back(e.path());
    else variant.push_back(e.path());
  }
  auto& chosen = plain.empty() ? variant : plain;
  std::sort(chosen.begin(), chosen.end());
  if (&chosen == &variant && !variant.empty()) {
    // Keep only the first variant name (e.g. fp16) if several exist.
    const std::string v = variant.front().stem().extension().string();
    std::erase_if(variant, [&](const fs::path& p) { return p.stem().extension().string() != v; });
  }
  return chosen;
}

}  // namespace

TensorStore TensorStore::open(const fs::path& path) {
  TensorStore s;
  s.path_ = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    s.folder_ = true;
    std::vector<fs::path> subdirs;
    for (const auto& e : fs::directory_iterator(path))
      if (e.is_directory()) subdirs.push_back(e.path());
    std::sort(subdirs.begin(), subdirs.end());
    for (const auto& d : subdirs)
      for (const auto& f : component_files(d)) s.add_file(f, d.filename().string() + "/");
    for (const auto& f : component_files(path)) s.add_file(f, "");
    if (s.files_.empty()) {
      bool has_bin = false;
      for (const auto& e : fs::recursive_directory_iterator(path))
        if (e.path().extension() == ".bin" || e.path().extension() == ".ckpt") has_bin = true;
      throw FormatError(path.string() + ": no .safetensors files in this folder or its component folders" +
                        (has_bin ? " (only pickle .bin/.ckpt files, which skingen does not load: convert them "
                                   "to safetensors)"
                                 : ""));
    }
  } else {
    if (!fs::exists(path, ec)) throw FormatError(path.string() + ": no such file or folder");
    const auto ext = path.extension().string();
    if (ext == ".ckpt" || ext == ".bin" || ext == ".pt" || ext == ".pth")
      throw FormatError(path.string() + ": pickle checkpoints are not loaded (they can run code); convert to "
                                        ".safetensors");
    s.add_file(path, "");
  }
  s.finish();
  return s;
}

TensorStore TensorStore::open_files(const std::vector<fs::path>& paths) {
  if (paths.empty()) throw FormatError("no files given");
  TensorStore s;
  s.path_ = paths.front();
  for (const auto& p : paths) s.add_file(p, "");
  s.finish();
  return s;
}

void TensorStore::add_file(const fs::path& p, const std::string& prefix) {
  files_.push_back(std::make_unique<SafetensorsFile>(SafetensorsFile::open(p)));
  const SafetensorsFile* f = files_.back().get();
  for (const auto& t : f->tensors()) entries_.push_back(Entry{prefix + t.name, f, &t});
  for (const auto& [k, v] : f->metadata()) metadata_.emplace(k, v);
}

void TensorStore::finish() {
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (i > 0 && entries_[i].name == entries_[i - 1].name)
      throw FormatError(entries_[i].file->path().string() + ": tensor '" + entries_[i].name +
                        "' is also in " + entries_[i - 1].file->path().string());
    index_.emplace(entries_[i].name, i);
  }
  used_.assign(entries_.size(), false);
}

const TensorStore::Entry* TensorStore::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const TensorStore::Entry& TensorStore::at(const std::string& name) const {
  const Entry* e = find(name);
  if (!e) throw FormatError(path_.string() + ": missing tensor '" + name + "'");
  return *e;
}

std::vector<const TensorStore::Entry*> TensorStore::with_prefix(const std::string& prefix) const {
  std::vector<const Entry*> r;
  for (auto it = index_.lower_bound(prefix); it != index_.end() && it->first.starts_with(prefix); ++it)
    r.push_back(&entries_[it->second]);
  return r;
}

void TensorStore::mark_used(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw FormatError(path_.string() + ": missing tensor '" + name + "'");
  used_[it->second] = true;
}

bool TensorStore::used(const std::string& name) const {
  auto it = index_.find(name);
  return it != index_.end() && used_[it->second];
}

Tensor TensorStore::view(const std::string& name) const {
  const Entry& e = at(name);
  mark_used(name);
  return e.file->view(*e.info);
}

Tensor TensorStore::read_f32(const std::string& name) const {
  const Entry& e = at(name);
  mark_used(name);
  Tensor t = e.file->read_f32(*e.info);
  e.file->release(*e.info);
  return t;
}

std::vector<std::string> TensorStore::unused(const std::string& prefix) const {
  std::vector<std::string> r;
  for (const Entry* e : with_prefix(prefix))
    if (!used_[index_.find(e->name)->second]) r.push_back(e->name);
  return r;
}

}  // namespace skingen::engine
