/*
 * A test-only stand-in for Windows' bcryptprimitives.dll, for running Descant's Windows build
 * under wine 8.0 (Debian 12), which lacks that DLL. Rust's standard library on Windows imports
 * one function from it, ProcessPrng, so without it every Rust program fails to start under that
 * wine. Windows 10 and 11 have the real DLL: this file is never built into a release and never
 * installed; the wine tests (cli/tests/windows.rs) build it into their own prefix's system32.
 *
 * ProcessPrng fills a buffer with random bytes and always succeeds (Microsoft's documentation);
 * here it asks RtlGenRandom (advapi32's SystemFunction036), which wine has.
 */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
