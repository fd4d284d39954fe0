"""CRM core: companies, contacts, activities, tasks, tags and loyalty."""
