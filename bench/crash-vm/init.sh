#!/bin/busybox sh
# /init of the crash-trial guest (bench/crash-vm/image.mjs packs it). Loads the disk and
# filesystem modules, mounts the read-only package disk (vdb) as the root to chroot into
# and the data disk (vda) under it at /data, then hands over to guest.mjs, which writes
# until it crashes the kernel itself. Its settings come on the kernel command line:
# aw.fs, aw.opts, aw.subject, aw.delay.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
# The initramfs has no /dev/console node, so the kernel gave init no stdio.
exec 0</dev/console 1>/dev/console 2>&1
for kv in $(/bin/busybox cat /proc/cmdline); do
  case $kv in
    aw.*=*) k=${kv%%=*}; k=${k#aw.}; eval "aw_$k=\${kv#*=}" ;;
  esac
done
for m in $(/bin/busybox cat /modules/$aw_fs.order); do
  /bin/busybox insmod /modules/$m 2>/dev/null
done
# What the guest kernel was told about the data disk's cache ("write back": it issues
# flushes; the power model requires it).
/bin/busybox mount -t sysfs sys /sys
echo "WRITE-CACHE $(/bin/busybox cat /sys/block/vda/queue/write_cache)"
/bin/busybox mount -o ro /dev/vdb /root || { echo "init: no package disk"; /bin/busybox poweroff -f; }
/bin/busybox mount -t proc proc /root/proc
/bin/busybox mount -t devtmpfs dev /root/dev
/bin/busybox mount -t tmpfs tmp /root/tmp
/bin/busybox mount -t "$aw_fs" -o "$aw_opts" /dev/vda /root/data || { echo "init: cannot mount the data disk"; /bin/busybox poweroff -f; }
cd /root
exec /bin/busybox chroot /root /usr/bin/node /app/bench/crash-vm/guest.mjs "$aw_subject" "$aw_delay"
