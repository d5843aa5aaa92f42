// Small C helpers that Swift cannot express: cache prefetch hints.
#ifndef CSLUICESHIMS_H
#define CSLUICESHIMS_H

/// Hints that the cache line holding `address` will be read soon. It never faults, whatever
/// the address; on compilers without the builtin it does nothing.
static inline __attribute__((always_inline)) void sluice_prefetch(const void *address) {
#if defined(__has_builtin)
#if __has_builtin(__builtin_prefetch)
    __builtin_prefetch(address, 0, 3);
#endif
#endif
}

#endif
