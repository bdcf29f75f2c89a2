#!/usr/bin/env bash
# Import throughput: writes a CSV of N customers (Chinese names, mobiles,
# tags, a custom column) and imports it into a fresh database with the
# release binary. Usage: scripts/bench-import.sh DATABASE_URL [N]
set -euo pipefail
cd "$(dirname "$0")/.."
url="$1"
n="${2:-100000}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
python3 - "$dir/customers.csv" "$n" <<'PY'
import random, sys
path, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
sur = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
mid = "华金瑞恒鑫泰宏新盛天中海永东博创康安嘉卓"
trade = ["机械", "商贸", "软件", "物流", "电子", "食品", "服饰", "医疗器械"]
city = ["北京", "上海", "深圳", "杭州", "成都", "武汉", "南京", "苏州"]
with open(path, "w", encoding="utf-8") as f:
    f.write("客户名称,手机,客户分类,省份,城市,行业,标签,外部编号,年营收\n")
    for i in range(n):
        c = random.choice(city)
        name = f"{c}{random.choice(mid)}{random.choice(mid)}{random.choice(trade)}{i}有限公司"
        f.write(f"{name},1{3 + i % 7}{i:09d},目标客户,{c},{c},{random.choice(trade)},意向: 高;规模: 100-300人,IMP-{i},2000万-2亿\n")
PY
cargo build --release -q -p kehu-cli
export KEHU_DATABASE_URL="$url"
./target/release/kehu user add --username bench --role admin --password bench-password >/dev/null
./target/release/kehu import --kind customers --as bench "$dir/customers.csv" | tail -1
