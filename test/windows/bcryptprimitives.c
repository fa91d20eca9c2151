/*
 * Test-only stand-in for Windows' bcryptprimitives.dll, which Wine 8 lacks: Bun's Windows runtime
 * imports ProcessPrng from it. Compiled with mingw by test/support/wine.ts into a throwaway
 * WINEPREFIX; never shipped (real Windows has the real DLL).
 */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
    if (!RtlGenRandom(data, chunk)) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}
