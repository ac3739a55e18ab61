/* hold.exe <path> <ms>: opens <path> the way a virus scanner or a careless reader does,
   without FILE_SHARE_DELETE, prints "held", keeps it open <ms> milliseconds. Node cannot
   do this itself (libuv always shares delete), so the Windows smoke uses this. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  HANDLE h = CreateFileA(argv[1], GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    fprintf(stderr, "hold: CreateFile failed: %lu\n", GetLastError());
    return 1;
  }
  printf("held\n");
  fflush(stdout);
  Sleep((DWORD)atoi(argv[2]));
  CloseHandle(h);
  return 0;
}
