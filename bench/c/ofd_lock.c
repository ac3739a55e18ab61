// The limits for the lock benchmarks: the same syscalls atomicwriter makes, in C.
//
// ofd_lock latency PATH N
//   Uncontested lock + release, N times. Prints the medians (µs) of what lock() +
//   release() do (open without following links, fstat, F_OFD_SETLK, unlock, close) and
//   of the bare F_OFD_SETLK pair on a file kept open.
// ofd_lock update FILE N inside|outside
//   N locked increments of the decimal counter in FILE, under an OFD lock on FILE.lock:
//   read, write a temp, fdatasync, rename, directory fsync (inside the lock, or right
//   after the release), unlock. Run several at once for the contended limit.
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *t, long n) {
  qsort(t, n, sizeof *t, cmp);
  return t[n / 2];
}

static int ofd(int fd, int cmd, short type) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0, .l_pid = 0};
  return fcntl(fd, cmd, &fl);
}

static int latency(const char *path, long n) {
  double *t = malloc(sizeof(double) * n);
  if (!t) die("malloc");
  for (long i = 0; i < n; i++) {
    double start = now_us();
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0666);
    if (fd < 0) die("open");
    struct stat st;
    if (fstat(fd, &st) < 0) die("fstat");
    if (ofd(fd, F_OFD_SETLK, F_WRLCK) < 0) die("lock");
    if (ofd(fd, F_OFD_SETLK, F_UNLCK) < 0) die("unlock");
    close(fd);
    t[i] = now_us() - start;
  }
  double full = median(t, n);
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) die("open");
  for (long i = 0; i < n; i++) {
    double start = now_us();
    if (ofd(fd, F_OFD_SETLK, F_WRLCK) < 0) die("lock");
    if (ofd(fd, F_OFD_SETLK, F_UNLCK) < 0) die("unlock");
    t[i] = now_us() - start;
  }
  close(fd);
  printf("{\"openLockUnlockCloseUs\":%.3f,\"lockUnlockUs\":%.3f}\n", full, median(t, n));
  return 0;
}

static int update(const char *file, long n, int dirsync_inside) {
  char lockpath[4096], tmp[4096], dirbuf[4096], buf[64];
  snprintf(lockpath, sizeof lockpath, "%s.lock", file);
  snprintf(tmp, sizeof tmp, "%s.c%d.tmp", file, (int)getpid());
  snprintf(dirbuf, sizeof dirbuf, "%s", file);
  int lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
  int dirfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lockfd < 0 || dirfd < 0) die("open");
  double start = now_us();
  for (long i = 0; i < n; i++) {
    if (ofd(lockfd, F_OFD_SETLKW, F_WRLCK) < 0) die("lock");
    long value = 0;
    int in = open(file, O_RDONLY | O_CLOEXEC);
    if (in >= 0) {
      ssize_t got = read(in, buf, sizeof buf - 1);
      buf[got > 0 ? got : 0] = 0;
      value = atol(buf);
      close(in);
    }
    int len = snprintf(buf, sizeof buf, "%ld\n", value + 1);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) die("open temp");
    if (write(out, buf, len) != len) die("write");
    if (fdatasync(out) < 0) die("fdatasync");
    close(out);
    if (rename(tmp, file) < 0) die("rename");
    if (dirsync_inside && fsync(dirfd) < 0) die("fsync dir");
    if (ofd(lockfd, F_OFD_SETLK, F_UNLCK) < 0) die("unlock");
    if (!dirsync_inside && fsync(dirfd) < 0) die("fsync dir");
  }
  printf("{\"updates\":%ld,\"seconds\":%.6f}\n", n, (now_us() - start) / 1e6);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "latency") == 0) return latency(argv[2], atol(argv[3]));
  if (argc == 5 && strcmp(argv[1], "update") == 0) return update(argv[2], atol(argv[3]), strcmp(argv[4], "inside") == 0);
  fprintf(stderr, "usage: %s latency PATH N | update FILE N inside|outside\n", argv[0]);
  return 2;
}
