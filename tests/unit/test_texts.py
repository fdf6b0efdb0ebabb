"""What isolate's results look like as text."""
from wo.multitenancy import texts


def test_an_isolated_site_names_what_it_left_and_prints_no_escape_it_holds():
    text = texts.per_site_text([{
        'domain': 'a.test', 'status': 'isolated', 'isolation': 'sovereign',
        'system_user': 'wo-a', 'note': 'a stopped move finished',
        'orphaned': ['trigger pin\x1b[2J (defined by a_user)'],
        'left_alone': ['/var/www/a.test/htdocs/wp-content/uploads/m: a file system is mounted '
                       'there: left as it is']}])
    lines = text.splitlines()
    assert lines[0] == 'isolated   a.test  (sovereign: its PHP runs as wo-a)'
    assert lines[1].strip() == 'Note: a stopped move finished'
    assert 'trigger pin?[2J (defined by a_user) -- recreate it with another DEFINER' in lines[2]
    assert lines[3].strip() == ('Note: not handed over: /var/www/a.test/htdocs/wp-content/uploads'
                                '/m: a file system is mounted there: left as it is')
    assert lines[-1] == '1 site(s): 1 isolated'
