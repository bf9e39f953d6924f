/*
 * bcryptprimitives.dll for wine 8 (Debian 12), which has none: Rust's standard library
 * (1.78 and later) imports ProcessPrng from it, so no Rust Windows binary starts there.
 * This one exports ProcessPrng over RtlGenRandom (advapi32's SystemFunction036), which
 * wine has. Installed into the test wine prefix by tests/windows/run.sh; never shipped.
 *
 *   x86_64-w64-mingw32-gcc -O2 -shared -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* Fills data[0..length) with random bytes; TRUE on success, as Windows' own. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
