"""The sidebar's list of conversations: entries and their menus, projects, imports."""
