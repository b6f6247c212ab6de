# The sources (reader and model detection) the safetensors fuzz target and the sanitizer replay compile with
# their own instrumentation (not the normal library objects).
set(SKINGEN_READER_SOURCES
  ${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_safetensors.cpp
  ${PROJECT_SOURCE_DIR}/engine/safetensors_reader.cpp
  ${PROJECT_SOURCE_DIR}/engine/tensor_store.cpp
  ${PROJECT_SOURCE_DIR}/engine/key_info.cpp
  ${PROJECT_SOURCE_DIR}/engine/model_family.cpp
  ${PROJECT_SOURCE_DIR}/engine/checkpoint_kind.cpp
  ${PROJECT_SOURCE_DIR}/engine/lora_kind.cpp
  ${PROJECT_SOURCE_DIR}/engine/kohya_metadata.cpp
  ${PROJECT_SOURCE_DIR}/engine/mapped_file.cpp
  ${PROJECT_SOURCE_DIR}/engine/core/tensor.cpp
  ${PROJECT_SOURCE_DIR}/engine/core/dtype.cpp)
set(SKINGEN_FUZZ_CORPUS ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus)
