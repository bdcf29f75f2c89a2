//! Which file column feeds which field, in Chinese or English, and how
//! Chinese spellings of choice values map to stored keys. `MAPPING.md` at
//! the crate root is generated from these tables (a test keeps it current).

use kehu_domain::text::fold;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Customers,
    Contacts,
    Orders,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Customers, Kind::Contacts, Kind::Orders];

    pub fn parse(s: &str) -> Option<Kind> {
        match s.trim() {
            "customers" | "customer" => Some(Kind::Customers),
            "contacts" | "contact" => Some(Kind::Contacts),
            "orders" | "order" => Some(Kind::Orders),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Customers => "customers",
            Kind::Contacts => "contacts",
            Kind::Orders => "orders",
        }
    }

    /// (field, accepted headers; the first is the zh-CN export header, the
    /// second the English one).
    pub fn columns(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            Kind::Customers => CUSTOMER_COLUMNS,
            Kind::Contacts => CONTACT_COLUMNS,
            Kind::Orders => ORDER_COLUMNS,
        }
    }

    /// The field a header names, if any.
    pub fn field_of(self, header: &str) -> Option<&'static str> {
        let h = fold(header);
        self.columns()
            .iter()
            .find(|(_, aliases)| aliases.iter().any(|a| fold(a) == h))
            .map(|(f, _)| *f)
    }
}

const CUSTOMER_COLUMNS: &[(&str, &[&str])] = &[
    (
        "name",
        &[
            "客户名称",
            "name",
            "名称",
            "公司名称",
            "客户",
            "企业名称",
            "customer name",
            "company",
        ],
    ),
    ("kind", &["客户类型", "kind", "类型", "type"]),
    ("classification", &["客户分类", "classification", "分类"]),
    ("status", &["状态", "status"]),
    ("source", &["来源", "source", "渠道", "来源渠道", "channel"]),
    ("province", &["省份", "province", "省"]),
    ("city", &["城市", "city", "市"]),
    ("industry", &["行业", "industry"]),
    ("size", &["规模", "size", "公司规模", "company size"]),
    (
        "mobile",
        &[
            "手机",
            "mobile",
            "手机号",
            "手机号码",
            "电话",
            "phone",
            "联系电话",
        ],
    ),
    ("email", &["邮箱", "email", "电子邮件", "e-mail"]),
    (
        "external_id",
        &[
            "外部编号",
            "external id",
            "客户编号",
            "编号",
            "external_id",
            "id",
        ],
    ),
    ("notes", &["备注", "notes", "note", "说明"]),
    ("owner", &["负责人", "owner", "销售", "所属销售"]),
    ("tags", &["标签", "tags", "tag"]),
];

const CONTACT_COLUMNS: &[(&str, &[&str])] = &[
    (
        "customer",
        &["客户名称", "customer", "客户", "公司名称", "customer name"],
    ),
    (
        "customer_external_id",
        &["客户编号", "customer external id", "customer_external_id"],
    ),
    (
        "name",
        &["姓名", "name", "联系人", "联系人姓名", "contact name"],
    ),
    ("department", &["部门", "department"]),
    ("title", &["职位", "title", "职务", "job title"]),
    ("level", &["级别", "level", "层级"]),
    ("superior", &["上级", "superior", "汇报对象", "reports to"]),
    ("business_area", &["业务范围", "business area", "负责业务"]),
    ("authority_scope", &["权限范围", "authority scope", "权限"]),
    (
        "budget_authority",
        &["预算权限", "budget authority", "预算"],
    ),
    (
        "is_key_decision_maker",
        &["关键决策人", "key decision maker", "kdm", "是否关键决策人"],
    ),
    (
        "mobile",
        &["手机", "mobile", "手机号", "手机号码", "电话", "phone"],
    ),
    ("wechat", &["微信", "wechat", "微信号"]),
    ("email", &["邮箱", "email", "电子邮件", "e-mail"]),
    (
        "other_channels",
        &["其他联系方式", "other channels", "其他"],
    ),
    ("closeness", &["亲密度", "closeness", "关系", "关系程度"]),
    ("notes", &["备注", "notes", "note"]),
];

const ORDER_COLUMNS: &[(&str, &[&str])] = &[
    (
        "customer",
        &["客户名称", "customer", "客户", "customer name"],
    ),
    (
        "customer_external_id",
        &[
            "客户编号",
            "customer external id",
            "customer_external_id",
            "customer_id",
        ],
    ),
    (
        "external_id",
        &[
            "订单号",
            "order number",
            "订单编号",
            "external id",
            "external_id",
            "order id",
        ],
    ),
    (
        "order_date",
        &[
            "下单日期",
            "order date",
            "日期",
            "date",
            "订单日期",
            "order_date",
        ],
    ),
    ("amount", &["金额", "amount", "订单金额", "销售额"]),
    ("currency", &["币种", "currency", "货币"]),
    ("cost", &["成本", "cost"]),
    ("status", &["订单状态", "status", "状态"]),
    ("note", &["备注", "note", "notes"]),
];

/// Chinese (and other) spellings of choice values, per field.
pub fn choice_alias(field: &str, raw: &str) -> Option<&'static str> {
    let v = fold(raw);
    let table: &[(&str, &[&str])] = match field {
        "kind" => &[
            ("company", &["公司", "企业", "单位", "company"]),
            ("person", &["个人", "自然人", "person"]),
        ],
        "classification" => &[
            ("target", &["目标客户", "目标", "target"]),
            ("potential", &["潜在客户", "潜在", "potential"]),
            ("partner", &["合作伙伴", "伙伴", "partner"]),
            (
                "non_customer",
                &["非客户", "non-customer", "non customer", "non_customer"],
            ),
        ],
        "status" => &[
            ("active", &["活跃", "正常", "active"]),
            ("inactive", &["不活跃", "停用", "inactive"]),
            ("archived", &["归档", "已归档", "archived"]),
        ],
        "order_status" => &[
            ("completed", &["已完成", "完成", "成交", "completed"]),
            ("pending", &["待处理", "处理中", "pending"]),
            ("cancelled", &["已取消", "取消", "cancelled", "canceled"]),
        ],
        "level" => &[
            ("executive", &["高层", "高管", "executive"]),
            ("management", &["中层", "管理层", "management"]),
            ("staff", &["基层", "员工", "staff"]),
            ("other", &["其他", "other"]),
        ],
        "budget_authority" => &[
            ("none", &["无", "没有", "none"]),
            ("influence", &["有影响", "影响", "influence"]),
            ("approve", &["审批", "批准", "approve"]),
            ("final", &["最终拍板", "拍板", "最终决策", "final"]),
        ],
        "closeness" => &[
            ("close", &["亲密", "密切", "close"]),
            ("regular", &["一般", "普通", "regular"]),
            ("initial", &["初步", "初步接触", "initial"]),
            ("unknown", &["未知", "unknown"]),
        ],
        _ => return None,
    };
    table
        .iter()
        .find(|(_, aliases)| aliases.iter().any(|a| fold(a) == v))
        .map(|(k, _)| *k)
}

/// The mapping as a markdown document (the content of `MAPPING.md`).
pub fn mapping_markdown() -> String {
    let mut out = String::from(
        "# Import columns\n\nColumns are matched by header, ignoring case, spaces and \
         full-width forms. The first name is used when exporting in Chinese, the second \
         when exporting in English. Customer files may carry other columns: they become \
         custom attributes named by their header. This file is generated from \
         `crates/kehu-core/src/import/mapping.rs`; a test keeps the two equal.\n",
    );
    for kind in Kind::ALL {
        out.push_str(&format!(
            "\n## {}\n\n| field | headers |\n|---|---|\n",
            kind.as_str()
        ));
        for (field, aliases) in kind.columns() {
            out.push_str(&format!("| `{field}` | {} |\n", aliases.join(" · ")));
        }
    }
    out.push_str(
        "\n## Values\n\nChoice fields accept the stored key or these spellings:\n\n\
         | field | key | also accepted |\n|---|---|---|\n",
    );
    for field in [
        "kind",
        "classification",
        "status",
        "order_status",
        "level",
        "budget_authority",
        "closeness",
    ] {
        for key in choice_keys(field) {
            let aliases: Vec<&str> = choice_aliases(field, key);
            out.push_str(&format!(
                "| `{field}` | `{key}` | {} |\n",
                aliases.join(" · ")
            ));
        }
    }
    out.push_str(
        "\nYes/no columns (`is_key_decision_maker`) accept 是/否, yes/no, true/false, 1/0. \
         Tags are separated by `;`, `；` or `|` and written `dimension: value`. Dates accept \
         `2024-03-05`, `2024/3/5`, `2024年3月5日` and Excel date cells. Amounts accept \
         `1234.5`, `1,234.50`, `¥1234.50`.\n",
    );
    out
}

fn choice_keys(field: &str) -> Vec<&'static str> {
    let probe: &[&str] = match field {
        "kind" => &["company", "person"],
        "classification" => &["target", "potential", "partner", "non_customer"],
        "status" => &["active", "inactive", "archived"],
        "order_status" => &["completed", "pending", "cancelled"],
        "level" => &["executive", "management", "staff", "other"],
        "budget_authority" => &["none", "influence", "approve", "final"],
        _ => &["close", "regular", "initial", "unknown"],
    };
    probe.to_vec()
}

fn choice_aliases(field: &str, key: &str) -> Vec<&'static str> {
    ALIAS_PROBES
        .iter()
        .copied()
        .filter(|a| fold(a) != fold(key) && choice_alias(field, a) == Some(key))
        .collect()
}

/// Every alias spelled in `choice_alias`, for the generated document.
const ALIAS_PROBES: &[&str] = &[
    "公司",
    "企业",
    "单位",
    "个人",
    "自然人",
    "目标客户",
    "目标",
    "潜在客户",
    "潜在",
    "合作伙伴",
    "伙伴",
    "非客户",
    "non-customer",
    "活跃",
    "正常",
    "不活跃",
    "停用",
    "归档",
    "已归档",
    "已完成",
    "完成",
    "成交",
    "待处理",
    "处理中",
    "已取消",
    "取消",
    "canceled",
    "高层",
    "高管",
    "中层",
    "管理层",
    "基层",
    "员工",
    "其他",
    "无",
    "没有",
    "有影响",
    "影响",
    "审批",
    "批准",
    "最终拍板",
    "拍板",
    "最终决策",
    "亲密",
    "密切",
    "一般",
    "普通",
    "初步",
    "初步接触",
    "未知",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_in_both_languages_and_any_width() {
        assert_eq!(Kind::Customers.field_of("客户名称"), Some("name"));
        assert_eq!(Kind::Customers.field_of(" Customer Name "), Some("name"));
        assert_eq!(Kind::Customers.field_of("手机号"), Some("mobile"));
        assert_eq!(Kind::Customers.field_of("ＭＯＢＩＬＥ"), Some("mobile"));
        assert_eq!(Kind::Orders.field_of("下单日期"), Some("order_date"));
        assert_eq!(
            Kind::Contacts.field_of("关键决策人"),
            Some("is_key_decision_maker")
        );
        assert_eq!(Kind::Customers.field_of("年营收"), None);
    }

    #[test]
    fn no_header_means_two_fields() {
        for kind in Kind::ALL {
            let mut seen = std::collections::HashMap::new();
            for (field, aliases) in kind.columns() {
                for a in *aliases {
                    if let Some(other) = seen.insert(fold(a), *field) {
                        assert_eq!(other, *field, "{kind:?}: {a} maps to {other} and {field}");
                    }
                }
            }
        }
    }

    #[test]
    fn chinese_choice_values_map_to_keys() {
        assert_eq!(choice_alias("classification", "目标客户"), Some("target"));
        assert_eq!(choice_alias("kind", "企业"), Some("company"));
        assert_eq!(choice_alias("budget_authority", "最终拍板"), Some("final"));
        assert_eq!(choice_alias("closeness", "一般"), Some("regular"));
        assert_eq!(choice_alias("order_status", "已取消"), Some("cancelled"));
        assert_eq!(choice_alias("classification", "vip"), None);
    }

    #[test]
    fn the_mapping_document_is_current() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/MAPPING.md"))
            .unwrap_or_default();
        if doc != mapping_markdown() {
            let _ = std::fs::write(
                concat!(env!("CARGO_MANIFEST_DIR"), "/MAPPING.md.new"),
                mapping_markdown(),
            );
            panic!("MAPPING.md is out of date; the current text is in MAPPING.md.new");
        }
    }
}
