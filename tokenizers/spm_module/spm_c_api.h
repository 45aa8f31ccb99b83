/* The C interface of libseqlab_spm.so, a small module around Debian's libsentencepiece.
 *
 * Why a module: Debian's libsentencepiece carries its own copy of protobuf-lite, and libtorch
 * links the system libprotobuf; loading both into one link namespace makes their protobuf
 * descriptors collide (duplicate registration, crashes at load time). seqlab therefore loads this
 * module with dlmopen(LM_ID_NEWLM): it gets its own namespace with its own protobuf, libstdc++ and
 * libc, and talks to seqlab only through plain C types. Memory returned by the module is freed
 * with seqlab_spm_free, by the same allocator that made it. */
#ifndef SEQLAB_SPM_C_API_H_
#define SEQLAB_SPM_C_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct seqlab_spm seqlab_spm;

/* Trains a model from `count` sentences with SentencePiece's trainer flags in `args`
 * ("--model_type=bpe --vocab_size=8000 ..."). On success returns 0 and the serialized model proto
 * in *model / *model_size; on failure returns nonzero and a message in *error. */
int seqlab_spm_train(const char* args, const char* const* sentences, const size_t* lengths,
                     size_t count, char** model, size_t* model_size, char** error);

/* Loads a serialized model; NULL and *error on failure. */
seqlab_spm* seqlab_spm_load(const char* model, size_t model_size, char** error);
void seqlab_spm_unload(seqlab_spm* spm);

/* The compiled character map of a built-in normalisation rule ("nmt_nfkc", "nfkc", ...), as
 * SentencePiece stores it in a model it trains with that rule. Returns 0 on success. */
int seqlab_spm_builtin_charsmap(const char* name, char** map, size_t* map_size, char** error);

int32_t seqlab_spm_vocab_size(const seqlab_spm* spm);
/* Piece ids of `text`; *ids is allocated by the module. Returns 0 on success. */
int seqlab_spm_encode(const seqlab_spm* spm, const char* text, size_t size, int32_t** ids,
                      size_t* count);
int seqlab_spm_decode(const seqlab_spm* spm, const int32_t* ids, size_t count, char** text,
                      size_t* size);
int seqlab_spm_id_to_piece(const seqlab_spm* spm, int32_t id, char** piece, size_t* size);

void seqlab_spm_free(void* pointer);

#ifdef __cplusplus
}
#endif

#endif /* SEQLAB_SPM_C_API_H_ */
