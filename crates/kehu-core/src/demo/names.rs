//! Vocabulary of the demo generator: names, places, industries, roles and
//! the kind of notes sales people write.

use kehu_domain::{BudgetAuthority, ContactLevel};

/// Common surnames with their pinyin (for usernames).
pub const SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("许", "xu"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("彭", "peng"),
    ("曾", "zeng"),
    ("肖", "xiao"),
    ("田", "tian"),
    ("董", "dong"),
    ("潘", "pan"),
    ("袁", "yuan"),
    ("蔡", "cai"),
    ("蒋", "jiang"),
    ("余", "yu"),
    ("欧阳", "ouyang"),
    ("司马", "sima"),
];

pub const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "文", "辉", "鹏", "宇", "浩", "婷", "雪",
    "琳", "晨", "欣", "悦", "博", "凯", "帆", "怡", "佳", "思", "雨", "子", "俊",
];

pub const TEAM_NAMES: &[&str] = &[
    "华东销售一部",
    "华南大客户部",
    "华北销售部",
    "西南渠道部",
    "华中销售部",
    "东北销售部",
];

/// (province, city) pairs that exist.
pub const PLACES: &[(&str, &str)] = &[
    ("北京", "北京"),
    ("上海", "上海"),
    ("天津", "天津"),
    ("重庆", "重庆"),
    ("广东", "广州"),
    ("广东", "深圳"),
    ("广东", "东莞"),
    ("广东", "佛山"),
    ("浙江", "杭州"),
    ("浙江", "宁波"),
    ("浙江", "温州"),
    ("江苏", "南京"),
    ("江苏", "苏州"),
    ("江苏", "无锡"),
    ("山东", "济南"),
    ("山东", "青岛"),
    ("四川", "成都"),
    ("湖北", "武汉"),
    ("湖南", "长沙"),
    ("河南", "郑州"),
    ("福建", "福州"),
    ("福建", "厦门"),
    ("安徽", "合肥"),
    ("陕西", "西安"),
    ("辽宁", "沈阳"),
    ("辽宁", "大连"),
    ("河北", "石家庄"),
    ("江西", "南昌"),
    ("云南", "昆明"),
    ("广西", "南宁"),
    ("贵州", "贵阳"),
    ("山西", "太原"),
    ("黑龙江", "哈尔滨"),
    ("吉林", "长春"),
    ("天津", "滨海"),
    ("海南", "海口"),
];

/// (industry, the word a company of it puts in its name).
pub const INDUSTRIES: &[(&str, &str)] = &[
    ("制造业", "机械"),
    ("制造业", "精密"),
    ("零售", "商贸"),
    ("教育", "教育科技"),
    ("医疗", "医疗器械"),
    ("软件和信息技术", "软件"),
    ("软件和信息技术", "信息技术"),
    ("物流", "物流"),
    ("餐饮", "餐饮管理"),
    ("建筑", "建设工程"),
    ("金融", "投资咨询"),
    ("电子", "电子"),
    ("化工", "化工"),
    ("食品", "食品"),
    ("服装", "服饰"),
    ("汽车", "汽车配件"),
];

pub const BRAND: &[&str] = &[
    "华", "金", "瑞", "恒", "鑫", "泰", "宏", "新", "盛", "天", "中", "海", "永", "东", "博", "创",
    "康", "安", "嘉", "卓", "易", "联", "汇", "锦", "信", "正", "达", "腾", "凯", "明",
];
pub const BRAND2: &[&str] = &[
    "达", "远", "通", "兴", "业", "成", "丰", "源", "顺", "科", "诚", "越", "邦", "驰", "辰", "航",
    "迈", "峰", "拓", "合", "智", "睿", "星", "云", "宇", "润", "和", "川", "晟", "煜",
];

pub const LEGAL: &[&str] = &[
    "有限公司",
    "有限公司",
    "有限公司",
    "股份有限公司",
    "集团有限公司",
    "有限责任公司",
];

pub const SIZES: &[&str] = &[
    "1-20人",
    "20-100人",
    "100-300人",
    "300-1000人",
    "1000人以上",
];

pub const REVENUE: &[&str] = &[
    "500万以下",
    "500万-2000万",
    "2000万-2亿",
    "2亿-10亿",
    "10亿以上",
];

pub const SOURCES: &[&str] = &[
    "展会",
    "官网",
    "转介绍",
    "电话营销",
    "百度推广",
    "微信公众号",
    "合作伙伴",
    "抖音",
];

/// (department, title, level, business area, authority scope, budget authority).
pub type Role = (
    &'static str,
    &'static str,
    ContactLevel,
    &'static str,
    &'static str,
    BudgetAuthority,
);

pub const ROLES: &[Role] = &[
    (
        "总经办",
        "总经理",
        ContactLevel::Executive,
        "全面经营",
        "采购最终审批",
        BudgetAuthority::Final,
    ),
    (
        "采购部",
        "采购经理",
        ContactLevel::Management,
        "供应商管理",
        "10万元以下采购",
        BudgetAuthority::Approve,
    ),
    (
        "技术部",
        "技术总监",
        ContactLevel::Management,
        "技术选型",
        "方案评估",
        BudgetAuthority::Influence,
    ),
    (
        "财务部",
        "财务总监",
        ContactLevel::Executive,
        "预算与付款",
        "付款审批",
        BudgetAuthority::Approve,
    ),
    (
        "信息部",
        "IT主管",
        ContactLevel::Staff,
        "系统运维",
        "需求提出",
        BudgetAuthority::Influence,
    ),
    (
        "行政部",
        "行政专员",
        ContactLevel::Staff,
        "日常采购",
        "无",
        BudgetAuthority::None,
    ),
    (
        "生产部",
        "生产经理",
        ContactLevel::Management,
        "产线管理",
        "使用评价",
        BudgetAuthority::Influence,
    ),
];

pub const NOTES: &[&str] = &[
    "电话沟通，客户很需要新方案，约下周上门演示",
    "客户想了解报价和交付周期，已发资料",
    "拜访采购经理，对方有明确预算，年底前采购",
    "微信跟进，客户表示再考虑一下",
    "客户反馈上批货质量不错，计划追加订单",
    "客户投诉交付延迟，已协调物流",
    "技术交流会，对方关注系统对接",
    "客户暂时没有需求，三个月后再联系",
    "价格敏感，竞争对手报价更低",
    "老客户回访，满意度高，愿意转介绍",
    "客户负责人换人，需要重新建立关系",
    "已发合同草稿，等待法务审核",
];
