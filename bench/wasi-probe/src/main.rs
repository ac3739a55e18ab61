use std::fs::File;
fn main() {
    let f = File::create("/work/probe-lock.txt").or_else(|_| File::create("probe-lock.txt")).unwrap();
    println!("try_lock: {:?}", f.try_lock());
    println!("try_lock_shared: {:?}", f.try_lock_shared());
    println!("sync_all: {:?}", f.sync_all());
    let d = File::open(".").map(|d| d.sync_all());
    println!("dir sync_all: {:?}", d);
    println!("read /etc/hostname via preopen '/': {:?}", std::fs::read_to_string("/etc/hostname").map(|s| s.len()));
}
