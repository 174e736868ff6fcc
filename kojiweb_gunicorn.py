import os, sys
src = os.environ['KOJI_SRC']
here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [src, src + '/cli', src + '/www/lib', src + '/www/kojiweb']
import wsgi_publisher

def application(environ, start_response):
    environ['koji.web.ConfigFile'] = here + '/web.conf'
    environ['koji.web.ConfigDir'] = here + '/web.conf.d'
    environ['SCRIPT_FILENAME'] = src + '/www/kojiweb/wsgi_publisher.py'
    environ['REQUEST_SCHEME'] = environ['wsgi.url_scheme']
    query = environ.get('QUERY_STRING')
    environ['REQUEST_URI'] = environ['SCRIPT_NAME'] + environ['PATH_INFO'] + ('?' + query if query else '')
    return wsgi_publisher.application(environ, start_response)
