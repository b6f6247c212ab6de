#pragma once
// All tensors of one checkpoint, whatever files hold them: a single
// .safetensors file, several files (shards, or a checkpoint plus a separate
// VAE), or a diffusers folder, whose component sub-folders become name
// prefixes ("unet/", "vae/", "text_encoder/"). Tracks which tensors were used
// so that leftovers can be reported.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/safetensors_reader.hpp"

namespace skingen::engine {

class TensorStore {
 public:
  struct Entry {
    std::string name;             // name in the store (with folder prefix for diffusers folders)
    const SafetensorsFile* file;  // owning file
    const TensorInfo* info;
  };

  // A file or a diffusers folder.
  static TensorStore open(const std::filesystem::path& path);
  // Several files; a name found in two files is an error naming both.
  static TensorStore open_files(const std::vector<std::filesystem::path>& paths);

  bool is_folder() const { return folder_; }
  const std::filesystem::path& path() const { return path_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // Metadata of all files merged (first file wins on conflicts).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  std::size_t size() const { return entries_.size(); }
  const std::vector<Entry>& entries() const { return entries_; }  // sorted by name
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  const Entry* find(const std::string& name) const;
  // Throws FormatError naming the store and the tensor.
  const Entry& at(const std::string& name) const;
  std::vector<const Entry*> with_prefix(const std::string& prefix) const;

  // Zero-copy view; marks the tensor used.
  Tensor view(const std::string& name) const;
  // fp32 copy; marks the tensor used and drops its pages from the resident set.
  Tensor read_f32(const std::string& name) const;
  void mark_used(const std::string& name) const;
  bool used(const std::string& name) const;
  // Names under `prefix` never viewed, read or marked.
  std::vector<std::string> unused(const std::string& prefix = "") const;

 private:
  std::filesystem::path path_;
  bool folder_ = false;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
  mutable std::vector<bool> used_;

  void add_file(const std::filesystem::path& p, const std::string& prefix);
  void finish();
};

}  // namespace skingen::engine
